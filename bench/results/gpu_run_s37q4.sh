#!/usr/bin/env bash
# Session 37 run q4: the CUDA op suite, golden and engine CUDA tests on main's final code (the
# 128 x 192 qkv tile; its op test LinearCuda.Fp8GemmTilesMatchFormula runs all 7 tiles).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name --format=csv | tee $OUT/smi.log
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 400 $B/tests/test_ops --gtest_filter='*Cuda*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 100 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \]" $OUT/$t.log | head -6; grep -B2 -A8 "Failure" $OUT/$t.log | head -30
done
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
