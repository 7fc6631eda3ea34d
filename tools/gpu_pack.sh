#!/usr/bin/env bash
# Copies the CUDA build's binaries and the shared libraries they need beyond the device
# machine's base system into .gpu_assets/b (git-ignored), and .gpu_assets/b.txz of it, for `run`
# with carry .gpu_assets/b.txz. BENCHES= picks the bench binaries.
# Usage: tools/gpu_pack.sh [BUILD_DIR, default build-f]
set -eu
B=${1:-build-f}
D=.gpu_assets/b
rm -rf $D && mkdir -p $D/tests $D/bench $D/apps $D/lib
cp $B/apps/qinfer $D/apps/
for t in ${TESTS:-test_ops test_golden test_engine}; do cp $B/tests/$t $D/tests/; done
for b in ${BENCHES:-gpu_golden gpu_kernels gpu_attention}; do [ -f $B/bench/$b ] && cp $B/bench/$b $D/bench/; done
# Extra shared libraries, where the build or .gpu_assets/lib has any (the device has cuBLASLt).
cp $B/lib/* $D/lib/ 2>/dev/null || cp .gpu_assets/lib/* $D/lib/ 2>/dev/null || true
# A real Llama 3.1 tokenizer for `qinfer bench --mode throughput` on random checkpoints.
T=${TOKENIZER_DIR:-.gpu_assets/tiny_llama}
if [ -f $T/tokenizer.json ]; then
  mkdir -p $D/tok && gzip -c $T/tokenizer.json > $D/tok/tokenizer.json.gz
  cp $T/tokenizer_config.json $T/generation_config.json $D/tok/
fi
# The CUPTI kernel tracer (tools/cupti_trace/build.sh), for gpu_run_all.sh step t.
[ -f .gpu_assets/cupti/libcupti_trace.so ] && cp -r .gpu_assets/cupti $D/
strip $D/apps/* $D/tests/* $D/bench/* 2>/dev/null || true
du -sh $D
# The binaries outgrew the 64 MiB a call carries: carry .gpu_assets/b.txz instead and unpack it
# there first (tar xJf .gpu_assets/b.txz -C .gpu_assets).
tar cJf .gpu_assets/b.txz -C .gpu_assets b
du -sh .gpu_assets/b.txz
