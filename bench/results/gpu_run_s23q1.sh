#!/usr/bin/env bash
# Session 23 run q1 (as run, then tools/gpu_run_persist.sh; kept only here): the first device
# run of decode_layers_persistent (src/ops/cuda/decode_persistent.cu): its op test, gpu_golden
# with QINFER_CUDA_PERSIST=1 and =0, batch-1 decode A/B at P=128 on the random static 1B and 8B,
# and CUPTI timelines of the persistent arm. Packed by TOKENIZER_DIR=../shared/models/llama3.1-
# tokenizer TESTS="test_ops test_golden test_engine" BENCHES="gpu_golden" tools/gpu_pack.sh
# build-f; run with carry [".gpu_assets/b.txz"]. Everything lands under $OUT, tarred.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1 &
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
timeout 150 $B/tests/test_ops --gtest_filter='DecodePersistentCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|heads|differs|Expected|Which is|rror" $OUT/test_ops.log | head -40
wait %1
gold() {  # tag, env, checkpoints...
  tag=$1; e=$2; shift 2
  env $e timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_$tag.json "$@" \
    > $OUT/gpu_golden_$tag.log 2>&1
  echo "gpu_golden $tag rc=$?"; grep -iE "fail|pass|max|error|greedy" $OUT/gpu_golden_$tag.log | tail -6
}
lat() {
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error|tokens" | head -3 | sed "s/^/$tag /"
}
tr() {
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,12p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
gold on QINFER_CUDA_PERSIST=1 tests/quant/data/fp8_*_static /tmp/l1b_s
gold off QINFER_CUDA_PERSIST=0 tests/quant/data/fp8_*_static /tmp/l1b_s
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2 3; do lat 1b_off$r QINFER_CUDA_PERSIST=0; lat 1b_on$r QINFER_CUDA_PERSIST=1; done
lat 1b_on_p1k QINFER_CUDA_PERSIST=1 QINFER_CUDA_PERSIST_PIECE=1024
tr 1b_on QINFER_CUDA_PERSIST=1
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2; do lat 8b_off$r QINFER_CUDA_PERSIST=0; lat 8b_on$r QINFER_CUDA_PERSIST=1; done
lat 8b_on_p1k QINFER_CUDA_PERSIST=1 QINFER_CUDA_PERSIST_PIECE=1024
tr 8b_on QINFER_CUDA_PERSIST=1
cd $OUT && tar czf all.tgz --remove-files *
