#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, starts the local stack, and runs a
# whole demo migration (S3 → GCS by default; `--source azure --target onprem` for any other pair).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. scripts/node-env.sh
exec node_modules/.bin/tsx src/cli.ts demo "$@"
