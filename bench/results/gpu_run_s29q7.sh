#!/usr/bin/env bash
# Session 29 run q7: the greedy tag counted once for the process (every runner), not per runner:
# sampler, golden and engine CUDA tests, the new op test, 1B batch 1 on / off once each.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 120 $B/tests/test_ops --gtest_filter='FusedCuda.GreedyLm*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -4
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -4
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
for g in 1 0; do
  QINFER_CUDA_GREEDY_LM_HEAD=$g timeout 60 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 \
    --out $OUT/lat_1b_g$g.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/greedy=$g /"
done
cd $OUT && tar czf all.tgz --remove-files *
