"""
In-process helpers for the throw-away Swift that the S3 tests run against.

cache_filter: tempauth insists on a `swift.cache`; a per-process dict with
expiry is enough for one test server and spares us a memcached.

compat_filter: Swift 2.30's s3api differs from S3 in ways that matter to the
tests, so the gaps are closed here, before s3api sees the request:
  - PUT with `If-None-Match: *` is refused with 501 by s3api although Swift's
    object server implements it: hide the header from s3api's validation so
    the create-only PUT reaches Swift and a second one gets 412.
  - DeleteObjects demands Content-MD5 (SDK v3 sends a CRC32 instead).
  - HeadBucket lacks `x-amz-bucket-region`.
  - An unknown access key is reported as SignatureDoesNotMatch; S3 says
    InvalidAccessKeyId.
"""
import functools
import re
import time


class _DictCache(object):
    """The memcache API subset tempauth and s3api use."""

    def __init__(self):
        self._items = {}

    def _get_live(self, key):
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] and item[1] < time.time():
            self._items.pop(key, None)
            return None
        return item

    def get(self, key, raise_on_error=False):
        item = self._get_live(key)
        return item[0] if item else None

    def set(self, key, value, serialize=True, time=0, min_compress_len=0,
            raise_on_error=False):
        expires = 0
        if time:
            # memcache semantics: large values are absolute timestamps
            expires = time if time > 30 * 24 * 3600 else _now() + time
        self._items[key] = (value, expires)
        return True

    def incr(self, key, delta=1, time=0):
        item = self._get_live(key)
        value = int(item[0] if item else 0) + int(delta)
        self.set(key, value, time=time)
        return value

    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)

    def delete(self, key, server_key=None):
        self._items.pop(key, None)

    def get_multi(self, keys, server_key):
        return [self.get(k) for k in keys]

    def set_multi(self, mapping, server_key, serialize=True, time=0,
                  min_compress_len=0):
        for k, v in mapping.items():
            self.set(k, v, time=time)


def _now():
    return time.time()


def cache_filter(global_conf, **local_conf):
    cache = _DictCache()

    def wrap(app):
        def middleware(env, start_response):
            env['swift.cache'] = cache
            return app(env, start_response)
        return middleware
    return wrap


_patched = []


def _patch_s3api(region):
    if _patched:
        return
    _patched.append(True)
    from swift.common.middleware.s3api import s3request
    from swift.common.middleware.s3api.controllers import bucket

    validate = s3request.S3Request._validate_headers

    def validate_headers(self):
        env = self.environ
        inm = env.get('HTTP_IF_NONE_MATCH')
        create_only = (self.method == 'PUT' and inm is not None
                       and inm.strip() == '*'
                       and 'HTTP_X_AMZ_COPY_SOURCE' not in env)
        if not create_only:
            return validate(self)
        del env['HTTP_IF_NONE_MATCH']
        try:
            return validate(self)
        finally:
            env['HTTP_IF_NONE_MATCH'] = inm
    s3request.S3Request._validate_headers = validate_headers

    check_md5 = s3request.S3Request.check_md5

    def check_md5_if_sent(self, body):
        if 'HTTP_CONTENT_MD5' in self.environ:
            return check_md5(self, body)
        return None
    s3request.S3Request.check_md5 = check_md5_if_sent

    head = bucket.BucketController.HEAD

    @functools.wraps(head)
    def head_with_region(self, req):
        resp = head(self, req)
        resp.headers['x-amz-bucket-region'] = region
        return resp
    bucket.BucketController.HEAD = head_with_region


_SIGV4_KEY = re.compile(r'Credential=([^/,\s]+)/')


def _access_key(env):
    auth = env.get('HTTP_AUTHORIZATION', '')
    if auth.startswith('AWS4-'):
        m = _SIGV4_KEY.search(auth)
        return m.group(1) if m else None
    if auth.startswith('AWS '):
        return auth[4:].rsplit(':', 1)[0]
    from six.moves.urllib.parse import parse_qs
    query = parse_qs(env.get('QUERY_STRING', ''))
    if 'X-Amz-Credential' in query:
        return query['X-Amz-Credential'][0].split('/', 1)[0]
    if 'AWSAccessKeyId' in query:
        return query['AWSAccessKeyId'][0]
    return None


def compat_filter(global_conf, **local_conf):
    from swift.common.middleware.s3api.s3response import InvalidAccessKeyId
    _patch_s3api(local_conf.get('region', 'us-east-1'))
    known = set(local_conf.get('access_keys', '').split())

    def wrap(app):
        def middleware(env, start_response):
            key = _access_key(env)
            if key is not None and key not in known:
                return InvalidAccessKeyId(aws_access_key_id=key)(
                    env, start_response)
            return app(env, start_response)
        return middleware
    return wrap
