#!/usr/bin/env bash
# Runs a TypeScript entry point (the CLI, the worker, the benchmarks) with tsx on the Node LTS the
# project's scripts installed where the machine's own is older (scripts/node-env.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/node-env.sh"
exec "$here/../node_modules/.bin/tsx" "$@"
