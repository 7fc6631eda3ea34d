#!/usr/bin/env bash
# The device run that checks and measures attention_o (src/ops/cuda/attention_o.cu, off by
# default until this run shows it correct and faster): its op test, the golden checkpoints and
# the static random 1B / 8B through the model with QINFER_CUDA_ATTN_O=1 against =0 (greedy ids
# and metrics), then batch-1 decode A/B at P=128 (three arms: off, on, on with the weight copies
# after the wait) and CUPTI timelines of each arm. Everything under $OUT, tarred.
# Here: TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops test_golden
# test_engine" BENCHES="gpu_golden" tools/gpu_pack.sh build-f (with tools/cupti_trace built);
# then `run` with carry [".gpu_assets/b.txz"] and command `bash bench/results/gpu_run_s22q2.sh`
# (run this session as tools/gpu_run_attn_o.sh, the same file; kept only here).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static --reference > $OUT/mk.log 2>&1
echo "1b static rc=$?"
(python3 $MK --out /tmp/l8b_s4 --layers 4 --static --reference >> $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='AttentionOCuda.*:FusedDecodeCuda.*:CudaAttentionTc*' \
  > $OUT/test_ops.log 2>&1
rc=$?; echo "test_ops rc=$rc"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|y\[|rel|Which is|attention output" $OUT/test_ops.log | head -16
if [ $rc -ne 0 ]; then wait; cd $OUT && tar czf all.tgz --remove-files *; exit 1; fi  # no A/B
gold() {  # tag, env, checkpoints...
  tag=$1; e=$2; shift 2
  env $e timeout 300 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_$tag.json "$@" \
    > $OUT/gpu_golden_$tag.log 2>&1
  echo "gpu_golden $tag rc=$?"; grep -iE "fail|pass|max|error" $OUT/gpu_golden_$tag.log | tail -8
}
gold on QINFER_CUDA_ATTN_O=1 tests/quant/data/fp8_* /tmp/l1b_s
gold off QINFER_CUDA_ATTN_O=0 tests/quant/data/fp8_* /tmp/l1b_s
lat() {
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"
}
tr() {
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,8p $OUT/timeline_$tag.log; tail -6 $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2 3; do
  lat 1b_off$r QINFER_CUDA_ATTN_O=0; lat 1b_on$r QINFER_CUDA_ATTN_O=1
  lat 1b_late$r QINFER_CUDA_ATTN_O=1 QINFER_CUDA_ATTN_O_W_LATE=1
done
tr 1b_off QINFER_CUDA_ATTN_O=0; tr 1b_on QINFER_CUDA_ATTN_O=1
while ! grep -q mkdone $OUT/mk.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk.log
gold 8b4_on QINFER_CUDA_ATTN_O=1 /tmp/l8b_s4
gold 8b4_off QINFER_CUDA_ATTN_O=0 /tmp/l8b_s4
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2; do
  lat 8b_off$r QINFER_CUDA_ATTN_O=0; lat 8b_on$r QINFER_CUDA_ATTN_O=1
  lat 8b_late$r QINFER_CUDA_ATTN_O=1 QINFER_CUDA_ATTN_O_W_LATE=1
done
tr 8b_off QINFER_CUDA_ATTN_O=0; tr 8b_on QINFER_CUDA_ATTN_O=1
cd $OUT && tar czf all.tgz --remove-files *
