tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
timeout 200 $B/tests/test_ops --gtest_filter='CudaAttention.Prefill*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -5
for t in 1 3; do echo "== tile $t"; QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t$t.json 2>&1 | tail -3; done
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -3; done
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1
for M in /tmp/llama1b_fp8 /tmp/llama8b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
pf() { tag=$1; P=$2; kv=$3; t=$4; QINFER_CUDA_PREFILL_TILE=$t timeout 100 $B/apps/qinfer bench --model /tmp/llama${tag}_fp8 --prompt-len $P --decode-len 8 --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_${kv}_t$t.json 2>&1 | grep -iE "prefill ms \(TTFT\)|error" | sed "s/^/$tag P$P $kv tile $t /"; }
for t in 3 1; do pf 8b 2048 fp8 $t; pf 8b 32768 fp8 $t; pf 8b 32768 bf16 $t; pf 1b 32768 fp8 $t; pf 1b 2048 bf16 $t; done
pf 8b 131072 fp8 3; pf 1b 131072 fp8 3
for t in 3 1; do QINFER_CUDA_PREFILL_TILE=$t timeout 150 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256 --out $OUT/tp_c256_t$t.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/offline C256 tile $t /"; done
cd $OUT && tar czf all.tgz --remove-files *
