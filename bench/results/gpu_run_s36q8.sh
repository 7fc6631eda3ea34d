#!/usr/bin/env bash
# Session 36 run q8: the CUDA op suite (FusedCuda, LinearCuda, OpsCuda, the attention and GEMV
# op tests) on main's final code.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name --format=csv | tee $OUT/smi.log
QINFER_SOURCE_DIR=$PWD timeout 400 $B/tests/test_ops --gtest_filter='*Cuda*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
