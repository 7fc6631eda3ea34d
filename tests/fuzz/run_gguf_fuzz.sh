#!/usr/bin/env bash
# Builds the GGUF fuzzer with clang (libFuzzer + AddressSanitizer + UBSan) and runs it for a
# bounded time over the seed corpus. Exit 77 (ctest: skipped) when clang or libFuzzer is absent.
# Usage: run_gguf_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
SRC=$1
OUT=$2/fuzz
SECONDS_TO_RUN=${3:-60}
CXX=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$CXX" ]; then
  echo "clang++ not found: skipping the GGUF fuzzer (tools/setup.sh installs clang-14)"
  exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$CXX" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "$CXX cannot link libFuzzer: skipping (install libclang-rt-14-dev)"
  exit 77
fi
mkdir -p "$OUT/corpus"
SOURCES=("$SRC"/tests/fuzz/gguf_fuzz.cc "$SRC"/src/io/gguf*.cc "$SRC"/src/io/checkpoint.cc
         "$SRC"/src/io/safetensors.cc "$SRC"/src/io/model_config.cc "$SRC"/src/core/dtype.cc
         "$SRC"/src/core/tensor.cc "$SRC"/src/core/json.cc)
BIN="$OUT/gguf_fuzz"
NEWEST=$(ls -t "${SOURCES[@]}" "$SRC"/src/io/*.h "$SRC"/src/core/*.h | head -n1)
if [ ! -x "$BIN" ] || [ "$NEWEST" -nt "$BIN" ]; then
  echo "building $BIN with $CXX"
  "$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$SRC"/src -I"$SRC"/include "${SOURCES[@]}" -o "$BIN"
fi
cp -n "$SRC"/tests/fuzz/corpus/* "$OUT/corpus/" 2>/dev/null || true
# -rss_limit_mb / -malloc_limit_mb turn any oversized allocation into a reported failure.
"$BIN" "$OUT/corpus" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=1024 -malloc_limit_mb=256 \
  -max_len=65536 -timeout=10 -print_final_stats=1 -artifact_prefix="$OUT/"
