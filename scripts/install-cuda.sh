#!/usr/bin/env bash
# Installs ONNX Runtime's CUDA execution provider for onnxruntime-node, on a worker with an NVIDIA
# GPU, so `shadow.executionProvider: cuda` (or `auto`) runs there. Opt-in: CI and CPU workers
# never need it. Idempotent.
#
# The npm package ships the CPU build only; its own installer would fetch the provider from a
# NuGet feed (a CUDA 12 build). The same provider libraries, of onnxruntime-node's exact version,
# come in PyPI's onnxruntime-gpu wheel, which from 1.30 is built for CUDA 13. This takes
# libonnxruntime_providers_{shared,cuda}.so out of that wheel and puts them beside the
# libonnxruntime.so that onnxruntime-node loads, where ONNX Runtime looks for providers.
#
# The provider still needs CUDA 13's runtime, cuBLAS, cuFFT and cuDNN 9 on the library path: a
# CUDA toolkit, or `pip install "onnxruntime-gpu[cuda,cudnn]==<version>"` and LD_LIBRARY_PATH set
# to its nvidia/*/lib folders. The last lines printed say which of them are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install-cuda] %s\n' "$*"; }

[ -d node_modules/onnxruntime-node ] || { log "node_modules/onnxruntime-node is missing: run bash scripts/install.sh first"; exit 1; }
version=$(node -p "require('onnxruntime-node/package.json').version")
target=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
stamp=.stack/stamps/cuda-provider
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$target/libonnxruntime_providers_cuda.so" ]; then
  log "CUDA provider for onnxruntime-node $version already installed"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "downloading onnxruntime-gpu==$version from PyPI (about 250 MB)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --python-version 3.11 "onnxruntime-gpu==$version" -d "$work"
  python3 - "$work"/onnxruntime_gpu-*.whl "$target" <<'PY'
import sys, zipfile, os
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"):
        with z.open(f"onnxruntime/capi/{name}") as src, open(os.path.join(target, name), "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
PY
  mkdir -p .stack/stamps
  printf '%s' "$version" > "$stamp"
  log "installed libonnxruntime_providers_{shared,cuda}.so $version into $target"
fi

missing=$(ldd "$target/libonnxruntime_providers_cuda.so" | awk '/not found/ {print $1}' | tr '\n' ' ')
if [ -n "$missing" ]; then
  log "the provider cannot load yet; missing on the library path: $missing"
else
  log "the provider's libraries all resolve; run with shadow.executionProvider cuda or auto"
fi
