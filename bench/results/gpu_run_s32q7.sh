#!/usr/bin/env bash
# Session 32 run q7: review clean-up, behaviour unchanged (the attention's stage address taken
# once for both copy paths; one recapture condition for a moved cache or grown graph
# activations; gpu_attention --tc-only leaving the CUDA-core columns out). Attention op tests,
# engine and golden CUDA tests, the tensor-core decode table at batches 128-256.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
timeout 200 $B/tests/test_ops --gtest_filter='*Attention*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -6
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
$B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 --case F8_E4M3:256x1024 --case F8_E4M3:128x1500 --case BF16:256x1500 --out $OUT/attn.json 2>&1 | grep -E "^(F8|BF16)"
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
