tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
QINFER_CUDA_PREFILL_WG_KEYS=32 timeout 200 $B/tests/test_ops --gtest_filter='CudaAttention.Prefill*' > $OUT/test_ops.log 2>&1; echo "test_ops keys32 rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -5
for k in 64 32; do echo "== keys $k"; QINFER_CUDA_PREFILL_WG_KEYS=$k $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_k$k.json 2>&1 | tail -3; done
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_CUDA_PREFILL_WG_KEYS=32 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1; echo "golden keys32 rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_golden.log | head -3
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
pf() { P=$1; kv=$2; k=$3; QINFER_CUDA_PREFILL_WG_KEYS=$k timeout 100 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len 8 --kv-cache-dtype $kv --out $OUT/8b_p${P}_${kv}_k$k.json 2>&1 | grep -iE "prefill ms \(TTFT\)|error" | sed "s/^/8b P$P $kv keys $k /"; }
for k in 32 64; do pf 2048 fp8 $k; pf 8192 fp8 $k; pf 32768 fp8 $k; pf 32768 bf16 $k; done
cd $OUT && tar czf all.tgz --remove-files *
