#!/usr/bin/env bash
# Runs a cloudshift worker (`npm run worker -- --queues control,aws`; the image's command) as one
# Node process with its V8 heap capped. Uncapped, V8 sizes the heap from the host's memory (about
# 4 GiB on a 24 GiB machine) and collects late: a 10,000-object copy peaked at 511–521 MiB resident
# uncapped and 442–453 capped, and a 100,000-object one at 470 capped (README, bench scale).
# CLOUDSHIFT_WORKER_HEAP_MIB sets the cap; a --max-old-space-size already in NODE_OPTIONS wins.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh
heap="${CLOUDSHIFT_WORKER_HEAP_MIB:-384}"
if ! [[ "$heap" =~ ^[0-9]+$ ]] || [ "$heap" -lt 128 ]; then
  echo "CLOUDSHIFT_WORKER_HEAP_MIB must be a whole number of MiB, at least 128 (got '$heap')" >&2
  exit 2
fi
case " ${NODE_OPTIONS:-} " in
  *" --max-old-space-size"*) ;;
  *) export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--max-old-space-size=$heap" ;;
esac
exec node --import tsx src/worker.ts "$@"
