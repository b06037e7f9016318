#!/usr/bin/env bash
# Stop the Swift that test/s3/start-swift.sh started in DIR: only the pids it
# recorded, and only while they still run our launcher for DIR (a recycled
# pid belongs to someone else). TERM, then KILL after 5 s.
# Usage: test/s3/stop-swift.sh DIR [--rm]   (--rm: delete DIR too)
set -u
DIR="${1:?usage: stop-swift.sh DIR [--rm]}"
DIR="$(cd "$DIR" 2>/dev/null && pwd)" || exit 0

pids=()
for f in "$DIR/pids" "$DIR/pids.starting"; do
  [ -f "$f" ] && while read -r p; do [ -n "$p" ] && pids+=("$p"); done < "$f"
done

is_ours() {
  [ -r "/proc/$1/cmdline" ] && tr '\0' '\n' < "/proc/$1/cmdline" | grep -qxF "$DIR"
}

signal_ours() { # signal -> prints how many were still ours
  local n=0 p
  for p in "${pids[@]}"; do
    if is_ours "$p"; then n=$((n + 1)); [ -n "$1" ] && kill "-$1" "$p" 2>/dev/null; fi
  done
  echo "$n"
}

if [ "${#pids[@]}" -gt 0 ]; then
  signal_ours TERM >/dev/null
  for _ in $(seq 50); do
    [ "$(signal_ours '')" = 0 ] && break
    sleep 0.1
  done
  signal_ours KILL >/dev/null
fi
rm -f "$DIR/pids" "$DIR/pids.starting"
[ "${2:-}" = "--rm" ] && rm -rf "$DIR"
exit 0
