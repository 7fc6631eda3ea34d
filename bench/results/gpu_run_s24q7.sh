#!/usr/bin/env bash
# Session 24 run q7: q6 with its bug fixed (the cp.async copies committed as a group, which the first tile's end waits for; EpiSmem,
# gemv_bulk.cu). The GEMV, fused and persistent op tests, golden and engine CUDA tests,
# gpu_golden on the FP8 fixtures and the random static 1B, then same-run batch-1 A/B against the
# binary before the change (qinfer_old: q4's, measurement flags off) and a CUPTI timeline.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
timeout 300 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*:DecodePersistentCuda.*:AttentionOCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk.log $OUT/mk8.log
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|error|l1b" $OUT/gpu_golden.log | tail -8
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, binary
  tag=$1; q=$2; shift 2
  env "$@" timeout 60 $q bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
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
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2 3; do lat 1b_new$r $B/apps/qinfer; lat 1b_old$r $B/apps/qinfer_old; done
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2 3; do lat 8b_new$r $B/apps/qinfer; lat 8b_old$r $B/apps/qinfer_old; done
tr 8b_new; DL=256; M=/tmp/l1b_s; tr 1b_new
cd $OUT && tar czf all.tgz --remove-files *
