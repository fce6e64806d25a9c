#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what is missing, then runs unit and
# integration tests (the integration project starts, or reuses, the local stack itself).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
. scripts/node-env.sh
node_modules/.bin/tsc --noEmit
# STYLE.md's rules the compiler does not check: floating promises, type-only imports, import
# cycles, and nothing non-deterministic in src/workflows.
node_modules/.bin/eslint .
exec node_modules/.bin/vitest run "$@"
