#!/usr/bin/env bash
# Session 25 run q2: gemv_bulk's products on wgmma (flag 8: n <= 2, n_in % 1024 == 0; QGMMA
# m64n16k32 E4M3 from shared memory, no swizzle, each weight row's 128 contiguous bytes a core
# matrix) against mma.sync (flag 0: F2FP unpacks + HMMA, what sm_90a makes of mma.sync E4M3).
# The GEMV op tests under both, golden and engine CUDA tests and gpu_golden under flag 8, then
# 8B and 1B static batch-1 A/B in one process each and a CUPTI timeline of each.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
for f in 8 0; do
  QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 200 $B/tests/test_ops \
    --gtest_filter='FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*:DecodePersistentCuda.*:AttentionOCuda.*' \
    > $OUT/test_ops_f$f.log 2>&1; echo "test_ops flags=$f rc=$?"
  grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops_f$f.log | head -8
done
grep -B3 -A12 "Failure" $OUT/test_ops_f8.log | head -60
export QINFER_CUDA_GEMV_BULK_FLAGS=8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk.log $OUT/mk8.log
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|error|l1b" $OUT/gpu_golden.log | tail -8
unset QINFER_CUDA_GEMV_BULK_FLAGS
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, flags
  env QINFER_CUDA_GEMV_BULK_FLAGS=$2 timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
tr() {
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,9p $OUT/timeline_$tag.log; tail -6 $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2 3; do lat 8b_f8_$r 8; lat 8b_f0_$r 0; done
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2 3; do lat 1b_f8_$r 8; lat 1b_f0_$r 0; done
DL=128; M=/tmp/l8b_s
tr 8b_f8 QINFER_CUDA_GEMV_BULK_FLAGS=8
tr 8b_f0 QINFER_CUDA_GEMV_BULK_FLAGS=0
cd $OUT && tar czf all.tgz --remove-files *
