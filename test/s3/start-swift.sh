#!/usr/bin/env bash
# Start a disposable single-node OpenStack Swift with the s3api middleware on
# 127.0.0.1 for the S3 tests. Works from a clean clone: needs only Debian's
# python3-swift (.ci/run installs it) and writes nothing outside DIR.
#
# Usage: test/s3/start-swift.sh [DIR]
#   DIR (default: a new mktemp -d) holds configs, rings, data, logs, pids.
# Environment: S3_ACCESS_KEY (account:user, default test:tester),
#   S3_SECRET_KEY (default testing), S3_START_TIMEOUT (seconds, default 60).
#   A second user of the same account, S3_ACCESS_KEY_ALT / S3_SECRET_KEY_ALT
#   (default test:rotated / testing-rotated), lets tests rotate credentials.
# Prints KEY=VALUE lines: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY,
#   S3_ACCESS_KEY_ALT, S3_SECRET_KEY_ALT, S3_REGION, S3_DIR. The pids of the four servers go to DIR/pids;
#   test/s3/stop-swift.sh DIR stops exactly those.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
PY=/usr/bin/python3   # Debian's interpreter: python3-swift lives there
say() { echo "start-swift: $*" >&2; }

if ! "$PY" -c 'import swift.common.middleware.s3api.s3api' 2>/dev/null; then
  say "python3-swift is missing: apt-get install --no-install-recommends python3-swift (.ci/run does this)"
  exit 3
fi

DIR="${1:-$(mktemp -d -t damselfly-swift.XXXXXX)}"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
if [ -e "$DIR/pids" ]; then say "$DIR/pids exists: stop that Swift first"; exit 1; fi
mkdir -p "$DIR/data/d1" "$DIR/log"

AK="${S3_ACCESS_KEY:-test:tester}"
SK="${S3_SECRET_KEY:-testing}"
AK2="${S3_ACCESS_KEY_ALT:-test:rotated}"
SK2="${S3_SECRET_KEY_ALT:-testing-rotated}"
for k in "$AK" "$AK2"; do
  case "$k" in *:*) ;; *) say "access keys must be account:user (tempauth)"; exit 1 ;; esac
done
ACCOUNT="${AK%%:*}"
USER_NAME="${AK#*:}"
ACCOUNT2="${AK2%%:*}"
USER_NAME2="${AK2#*:}"
ME="$(id -un)"
REGION=us-east-1

# Whatever fails from here on: stop what we started (by pid), keep the logs.
on_exit() {
  local rc=$?
  [ "$rc" = 0 ] && return
  "$HERE/stop-swift.sh" "$DIR" >/dev/null 2>&1 || true
  say "failed (exit $rc); logs in $DIR/log"
  tail -n 15 "$DIR"/log/*.log >&2 2>/dev/null || true
}
trap on_exit EXIT

read -r PORT_PROXY PORT_ACCOUNT PORT_CONTAINER PORT_OBJECT < <("$PY" "$HERE/swift_setup.py" free-ports 4)

cat > "$DIR/swift.conf" <<CONF
[swift-hash]
swift_hash_path_suffix = $(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
swift_hash_path_prefix = damselfly

[storage-policy:0]
name = Policy-0
default = yes
CONF

storage_conf() { # name port
  cat <<CONF
[DEFAULT]
devices = $DIR/data
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
user = $ME
swift_dir = $DIR
log_level = WARNING

[pipeline:main]
pipeline = $1-server

[app:$1-server]
use = egg:swift#$1
CONF
}
storage_conf account "$PORT_ACCOUNT" > "$DIR/account-server.conf"
storage_conf container "$PORT_CONTAINER" > "$DIR/container-server.conf"
storage_conf object "$PORT_OBJECT" > "$DIR/object-server.conf"

# s3api refuses multipart upload unless slo comes after it in the pipeline.
cat > "$DIR/proxy-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT_PROXY
workers = 0
user = $ME
swift_dir = $DIR
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats compat s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = $REGION
max_upload_part_num = 10000
max_multi_delete_objects = 1000

[filter:tempauth]
use = egg:swift#tempauth
user_${ACCOUNT}_${USER_NAME} = $SK .admin
user_${ACCOUNT2}_${USER_NAME2} = $SK2 .admin

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:compat]
paste.filter_factory = swift_shims:compat_filter
region = $REGION
access_keys = $AK $AK2

[filter:cache]
paste.filter_factory = swift_shims:cache_filter

[filter:dlo]
use = egg:swift#dlo

[filter:copy]
use = egg:swift#copy

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats
CONF

: > "$DIR/pids.starting"
launch() {
  nohup "$PY" "$HERE/run_swift_server.py" "$DIR" "$1" "$DIR/$1.conf" >"$DIR/log/$1.log" 2>&1 </dev/null &
  echo $! >> "$DIR/pids.starting"
}
# The storage servers need no rings: start them first (each takes ~2 s of
# CPU to import Swift) and build the rings meanwhile; the proxy needs them.
launch account-server
launch container-server
launch object-server
"$PY" "$HERE/swift_setup.py" rings "$DIR" "$PORT_ACCOUNT" "$PORT_CONTAINER" "$PORT_OBJECT"
launch proxy-server
mv "$DIR/pids.starting" "$DIR/pids"

ENDPOINT="http://127.0.0.1:$PORT_PROXY"
deadline=$(( $(date +%s) + ${S3_START_TIMEOUT:-60} ))
until "$PY" "$HERE/swift_setup.py" ready "$ENDPOINT" "$AK" "$SK" "$PORT_ACCOUNT" "$PORT_CONTAINER" "$PORT_OBJECT"; do
  for p in $(cat "$DIR/pids"); do
    kill -0 "$p" 2>/dev/null || { say "server pid $p died"; exit 1; }
  done
  [ "$(date +%s)" -lt "$deadline" ] || { say "no answer from $ENDPOINT in time"; exit 1; }
  sleep 0.2
done

{
  echo "S3_ENDPOINT=$ENDPOINT"
  echo "S3_ACCESS_KEY=$AK"
  echo "S3_SECRET_KEY=$SK"
  echo "S3_ACCESS_KEY_ALT=$AK2"
  echo "S3_SECRET_KEY_ALT=$SK2"
  echo "S3_REGION=$REGION"
  echo "S3_DIR=$DIR"
} | tee "$DIR/env"
trap - EXIT
