#!/usr/bin/env bash
# Builds libcupti_trace.so (cupti_trace.cc) into OUT_DIR (default .gpu_assets/cupti) with the
# CUPTI of the PyPI package nvidia-cuda-cupti (13.0, the toolkit's version), and copies
# libcupti.so.13 beside it, for the device machine. Usage: tools/cupti_trace/build.sh [OUT_DIR]
set -eu
OUT=${1:-.gpu_assets/cupti}
WHEELS=.gpu_assets/wheels
mkdir -p "$OUT" "$WHEELS"
# The toolkit's version (13.0): a newer CUPTI may need a newer driver than the device's.
W=$(ls $WHEELS/nvidia_cuda_cupti-13.0.*.whl 2>/dev/null | head -1 || true)
if [ -z "$W" ]; then
  pip download --no-deps -d $WHEELS "nvidia-cuda-cupti==13.0.*" >/dev/null
  W=$(ls $WHEELS/nvidia_cuda_cupti-13.0.*.whl | head -1)
fi
rm -rf $WHEELS/cupti && python3 -m zipfile -e "$W" $WHEELS/cupti  # unpacked, not installed
ROOT=$WHEELS/cupti/nvidia/cu13
CUDA=${CUDA_HOME:-/usr/local/cuda}
g++ -std=c++17 -O2 -fPIC -shared -Wall -Wextra -I"$ROOT/include" -I"$CUDA/include" \
  "$(dirname "$0")/cupti_trace.cc" -o "$OUT/libcupti_trace.so" -L"$ROOT/lib" -l:libcupti.so.13 \
  -Wl,-rpath,'$ORIGIN'
cp "$ROOT/lib/libcupti.so.13" "$OUT/"
echo "$OUT/libcupti_trace.so"
