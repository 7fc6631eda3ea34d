#!/usr/bin/env bash
# Session 29 run q10: after the review clean-up (the slot GEMV's arguments built in one place; the
# greedy epilogue zeroes each warp's keys once; no per-row ban check in greedy_answers). Op, golden
# and engine CUDA tests; 1B throughput at concurrency 4 and 8, sampler kernel and greedy lm_head;
# 1B batch 1.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -4; grep -A6 "Failure" $OUT/test_ops.log | head -12
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -3
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
thr() {  # tag, concurrency, env...
  tag=$1; c=$2; shift 2
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency $c --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|mean ITL|error" | head -3 | tr '\n' ' ' | sed "s/^/$tag /"; echo
}
for c in 4 8; do thr c${c}_on $c; thr c${c}_off $c QINFER_CUDA_GREEDY_LM_HEAD=0; done
timeout 60 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 --out $OUT/lat_1b.json 2>&1 | grep -iE "^decode tok/s|error"
cd $OUT && tar czf all.tgz --remove-files *
