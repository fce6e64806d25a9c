# Sourced by the project's scripts: puts the Node LTS that scripts/install.sh installed (where the
# machine's own Node is older than the project supports) first on PATH, so every `node` — the
# tests, the CLI, the workers they spawn, npm itself — is a supported one.
CLOUDSHIFT_NODE_BIN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.stack/node/bin"
if [ -x "$CLOUDSHIFT_NODE_BIN/node" ]; then
  case ":$PATH:" in
    *":$CLOUDSHIFT_NODE_BIN:"*) ;;
    *) export PATH="$CLOUDSHIFT_NODE_BIN:$PATH" ;;
  esac
fi
