tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='LinearCuda.*' > $OUT/test_linear.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|tiles in|Failure" $OUT/test_linear.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_engine --gtest_filter='*Cuda*' > $OUT/test_engine.log 2>&1; echo "test_engine rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|max|greedy" $OUT/test_engine.log | head -30
timeout 200 $B/bench/gpu_gemm --out $OUT/gpu_gemm.json > $OUT/gpu_gemm.log 2>&1; echo "gemm rc=$?"; cat $OUT/gpu_gemm.log
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256"
for G in auto lt; do QINFER_CUDA_FP8_GEMM=$G timeout 100 $T --out $OUT/tp_c256_$G.json 2>&1 | grep -iE "output tok/s|itl|error" | sed "s/^/C256 $G /"; done
cd $OUT && tar czf all.tgz --remove-files *
