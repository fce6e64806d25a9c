#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, then runs unit and
# integration tests (the integration project starts, or reuses, the local stack itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
node_modules/.bin/tsc --noEmit
exec node_modules/.bin/vitest run "$@"
