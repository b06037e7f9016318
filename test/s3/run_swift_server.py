"""
Run one Swift server (account, container, object or proxy) from a test DIR.

Swift reads /etc/swift/swift.conf by a hard-coded path; point it at DIR's
copy before anything loads the storage policies, so a test server never
needs (or touches) /etc. Usage: run_swift_server.py DIR SERVER CONF
"""
import os
import sys

swift_dir, server, conf = sys.argv[1:4]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # swift_shims

from swift.common import utils  # noqa: E402
utils.SWIFT_CONF_FILE = os.path.join(swift_dir, 'swift.conf')
from swift.common import constraints, storage_policy  # noqa: E402
storage_policy.reload_storage_policies()
constraints.reload_constraints()
from swift.common.wsgi import run_wsgi  # noqa: E402

kwargs = {'verbose': True}
if server == 'object-server':
    from swift.obj import server as object_server
    kwargs['global_conf_callback'] = object_server.global_conf_callback
sys.exit(run_wsgi(conf, server, **kwargs))
