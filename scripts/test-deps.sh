#!/usr/bin/env bash
# What `npm test` needs beyond node_modules, installed from Debian's packages
# when missing: redis-cli (tests drive the server with the real CLI),
# redis-server and redis-benchmark (the oracle and bench/), python3-swift
# (the S3 server the S3 tests start), tcl (Redis's own test suite).
set -euo pipefail
need=()
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v redis-server >/dev/null || need+=(redis-server)
/usr/bin/python3 -c 'import swift.common.middleware.s3api.s3api' 2>/dev/null || need+=(python3-swift)
command -v tclsh >/dev/null || need+=(tcl)
[ ${#need[@]} -eq 0 ] && exit 0
echo "test-deps: installing ${need[*]} (Debian packages)" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "test-deps: need root or sudo to apt-get install ${need[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged redis-server on 6379; the tests and benches
# start their own, and a stray one would hold the default port.
if [[ " ${need[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
