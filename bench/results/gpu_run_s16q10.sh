tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention*:FusedDecodeCuda.*:FusedCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -5
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -3; done
for t in 1 3; do echo "== tile $t"; QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t$t.json 2>&1 | tail -3; done
cd $OUT && tar czf all.tgz --remove-files *
