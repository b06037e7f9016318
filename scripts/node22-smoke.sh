#!/usr/bin/env bash
# npm test's last step: a smoke run on Node 22 LTS (the AWS SDK needs Node
# >= 22 from 2027) while the suite itself runs on the Node that started it.
# Node 22 comes from the npm registry (the `node` package), cached by npx.
# The server is started by the tests with the same Node as vitest, so this
# runs start-up, real client round trips (ioredis, node-redis, redis-cli),
# scripting, and a snapshot to the S3 test server and back, on Node 22.
# DAMSELFLY_SKIP_NODE22=1 skips it (machines without registry access).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${DAMSELFLY_SKIP_NODE22:-}" = 1 ] && exit 0
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" = 22 ] && exit 0
echo "node22-smoke: running the smoke subset on Node 22" >&2
npx -y -p node@22 node node_modules/vitest/vitest.mjs run \
  test/server.test.ts test/scripting-eval.test.ts test/s3-e2e.test.ts test/snapshot-boot.test.ts
