"""
Helpers for start-swift.sh (Debian's python3 with python3-swift):
  free-ports N         print N free TCP ports on 127.0.0.1
  rings DIR A C O      build one-replica account/container/object rings
  ready URL AK SK PORTS...  exit 0 once the ports listen and a signed
                       (SigV2) ListBuckets answers 200; an unsigned request
                       would fall through to plain Swift and prove nothing
"""
import base64
import email.utils
import hashlib
import hmac
import os
import socket
import sys
import urllib.request


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
    print(' '.join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def rings(d, account, container, obj):
    from swift.common.ring import RingBuilder
    for name, port in (('account', account), ('container', container),
                       ('object', obj)):
        b = RingBuilder(6, 1, 0)  # part power 6, 1 replica, no min hours
        b.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
                   'port': int(port), 'device': 'd1', 'weight': 100,
                   'meta': ''})
        b.rebalance()
        b.save(os.path.join(d, name + '.builder'))
        b.get_ring().save(os.path.join(d, name + '.ring.gz'))


def ready(url, ak, sk, ports):
    for p in ports:
        socket.create_connection(('127.0.0.1', int(p)), timeout=1).close()
    date = email.utils.formatdate(usegmt=True)
    mac = hmac.new(sk.encode(), ('GET\n\n\n%s\n/' % date).encode(),
                   hashlib.sha1)
    sig = base64.b64encode(mac.digest()).decode()
    req = urllib.request.Request(url + '/', headers={
        'Date': date, 'Authorization': 'AWS %s:%s' % (ak, sig)})
    return urllib.request.urlopen(req, timeout=3).status == 200


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'free-ports':
        free_ports(int(sys.argv[2]))
    elif cmd == 'rings':
        rings(*sys.argv[2:6])
    elif cmd == 'ready':
        try:
            ok = ready(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        except Exception:
            ok = False
        sys.exit(0 if ok else 1)
    else:
        sys.exit('unknown command ' + cmd)
