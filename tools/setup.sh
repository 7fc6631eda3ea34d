#!/usr/bin/env bash
# Installs what qinfer needs to build and test on Debian 12, then configures and builds it.
# Idempotent: skips what is already there. Usage: tools/setup.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}

need_apt=()
for pkg in cmake ninja-build g++ pkg-config libgtest-dev libgmock-dev libbenchmark-dev \
           nlohmann-json3-dev libcpp-httplib-dev python3 python3-pip \
           clang-14 libclang-rt-14-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# Python packages used only by tests and reference tools (never at run time).
if ! python3 -c "import tokenizers, openai, jinja2, pytest, numpy, gguf" >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check -r tools/requirements-test.txt
fi

# CUTLASS's C++ headers (our Hopper FP8 GEMM tiles), from the PyPI package nvidia-cutlass,
# only where the CUDA backend builds. Pinned: the kernels are written against this release.
# --no-deps: only the headers are used (not its Python code generator's dependencies).
if { command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; } &&
   ! python3 -c "import importlib.util as u; exit(0 if u.find_spec('cutlass_library') else 1)"; then
  python3 -m pip install -q --disable-pip-version-check --no-deps nvidia-cutlass==4.2.0.0
fi

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)"
