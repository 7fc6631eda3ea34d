#!/usr/bin/env bash
# Session 29 run q6: the slot GEMV's BF16 instances for 2-4 rows held to 3 blocks a
# multiprocessor (__launch_bounds__ min blocks: 72 registers instead of 92 at 4 rows without the
# greedy epilogue). GEMV op tests, golden and engine CUDA tests; 1B throughput at concurrency 2
# and 4 with the greedy lm_head on / off (QINFER_CUDA_GREEDY_LM_HEAD=0: the non-greedy
# instance, as a sampled request runs it), against q4's binary (apps/qinfer_s29a), alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -A8 "Failure" $OUT/test_ops.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -4
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
thr() {  # tag, binary, concurrency, env...
  tag=$1; bin=$2; c=$3; shift 3
  env "$@" timeout 120 $B/apps/$bin bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency $c --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"
}
G=QINFER_CUDA_GREEDY_LM_HEAD
for c in 4 2; do for r in 1 2; do
  thr c${c}_on_$r qinfer $c; thr c${c}_off_$r qinfer $c $G=0
  thr c${c}_prev_on_$r qinfer_s29a $c; thr c${c}_prev_off_$r qinfer_s29a $c $G=0
done; done
cd $OUT && tar czf all.tgz --remove-files *
