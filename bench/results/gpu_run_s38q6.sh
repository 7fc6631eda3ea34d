#!/usr/bin/env bash
# Session 38 run q6: main's final code after the review's refactor (one host wrapper for both
# norms, attn::load4 shared by fused.cu and rope_kv_write): the CUDA op suite, the FP8 fixtures'
# GPU test, golden and engine CUDA tests, and one 8B offline 512 x 1000/1000 C 512 run.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 60 $B/tests/test_quant --gtest_filter='*Fp8GoldenCuda*' > $OUT/test_quant.log 2>&1
echo "test_quant rc=$?"; grep -E "worst log-prob|^\[  (PASSED|FAILED)" $OUT/test_quant.log | sed "s/^/  /"
QINFER_SOURCE_DIR=$PWD timeout 300 $B/tests/test_ops --gtest_filter='*Cuda*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 100 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \]" $OUT/$t.log | head -6; grep -B2 -A8 "Failure" $OUT/$t.log | head -30
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
timeout 100 $B/apps/qinfer bench --model /tmp/l8b_s --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_final.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
