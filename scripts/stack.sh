#!/usr/bin/env bash
# Starts, stops or reports the local stack: Temporal dev server + Web UI, MinIO, fake-gcs-server,
# Azurite. `start` installs what is missing first and waits until every service answers; `reset`
# stops it and removes what its services stored.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-status}" in
  start) bash scripts/install.sh ;;
esac
. scripts/node-env.sh
exec node_modules/.bin/tsx src/dev/stack-cli.ts "${1:-status}"
