tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
QINFER_TEST_SEED=3433711589 timeout 100 $B/tests/test_ops --gtest_filter='LinearCuda.MatchesCpuAndFormulaAcrossFormatsAndShapes' > $OUT/test_seed.log 2>&1; echo "seed 3433711589 rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_seed.log | head -4
timeout 400 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedCuda.*' --gtest_repeat=3 > $OUT/test_ops.log 2>&1; echo "test_ops x3 rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -12
cd $OUT && tar czf all.tgz --remove-files *
