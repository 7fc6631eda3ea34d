#!/usr/bin/env bash
# Session 31 run q7: review clean-up of linear_gemm.cc's cuBLASLt plans (the plan's fast flag
# passed from its key; behaviour unchanged). FP8 GEMM / linear op tests, gpu_gemm at 256 / 2048.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
timeout 150 $B/tests/test_ops --gtest_filter='LinearCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[ +(OK|FAILED|PASSED)|FAILED  \]" $OUT/test_ops.log | head -8
for f in 1 0; do QINFER_CUDA_FP8_FAST_ACCUM=$f timeout 80 $B/bench/gpu_gemm --n 256,2048 --out $OUT/gpu_gemm_fast$f.json > $OUT/gpu_gemm_fast$f.log 2>&1; echo "gpu_gemm fast=$f rc=$?"; head -1 $OUT/gpu_gemm_fast$f.log; grep -E "^(gate_up|down)" $OUT/gpu_gemm_fast$f.log; done
cd $OUT && tar czf all.tgz --remove-files *
