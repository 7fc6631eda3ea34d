#!/usr/bin/env bash
# Session 28 run q8: claims from the ranges' ends (QINFER_CUDA_GEMV_CLAIM_RANGES=1): each block
# first streams claim_fixed units at its own range's start (the fixed ranges' order, which q7
# found matters: the strided order alone slowed o), then claims the ranges' remaining units.
# GEMV op tests and golden CUDA tests with it on (every GEMV claiming), then 1B and 8B static
# batch 1: off, ranges (every GEMV / gate_up only), session 27's binary; traced: ranges.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
F=QINFER_CUDA_GEMV_BULK_FLAGS; A=QINFER_CUDA_GEMV_CLAIM_ALL; R=QINFER_CUDA_GEMV_CLAIM_RANGES
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
G='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.MatchesCpu*:LinearCuda.LlamaShapes'
env $R=1 timeout 200 $B/tests/test_ops --gtest_filter="$G" > $OUT/test_ops.log 2>&1; echo "test_ops (ranges) rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -6; grep -A8 "Failure" $OUT/test_ops.log | head -20
env $F=64 $R=1 timeout 200 $B/tests/test_ops --gtest_filter="$G" > $OUT/test_ops_claim.log 2>&1; echo "test_ops (ranges, every GEMV) rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops_claim.log | head -6; grep -A8 "Failure" $OUT/test_ops_claim.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
env $F=64 $R=1 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1
echo "test_golden (ranges) rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_golden.log | head -6
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, binary, env...
  tag=$1; bin=$2; shift 2
  env "$@" timeout 60 $B/apps/$bin bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 12,17p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_off_$r qinfer; lat 1b_ranges_$r qinfer $F=64 $R=1; lat 1b_rangesgu_$r qinfer $F=64 $R=1 $A=0; lat 1b_s27_$r qinfer_s27; done
tr 1b_ranges $F=64 $R=1
M=/tmp/l8b_s; DL=128
for r in 1 2 3; do lat 8b_off_$r qinfer; lat 8b_ranges_$r qinfer $F=64 $R=1; lat 8b_rangesgu_$r qinfer $F=64 $R=1 $A=0; lat 8b_s27_$r qinfer_s27; done
tr 8b_ranges $F=64 $R=1
cd $OUT && tar czf all.tgz --remove-files *
