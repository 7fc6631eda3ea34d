tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
for w in 11 12; do QINFER_CUDA_PREFILL_WG=$w timeout 200 $B/tests/test_ops --gtest_filter='CudaAttention.PrefillAllCacheDtypes' > $OUT/test_ops_wg$w.log 2>&1; echo "test_ops wg$w rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops_wg$w.log | head -5; done
for w in 21 11; do echo "== wg $w"; QINFER_CUDA_PREFILL_TILE=3 QINFER_CUDA_PREFILL_WG=$w $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_wg$w.json 2>&1 | tail -3; done
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1
for M in /tmp/llama1b_fp8 /tmp/llama8b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
pf() { tag=$1; P=$2; kv=$3; w=$4; QINFER_CUDA_PREFILL_TILE=3 QINFER_CUDA_PREFILL_WG=$w timeout 100 $B/apps/qinfer bench --model /tmp/llama${tag}_fp8 --prompt-len $P --decode-len 8 --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_${kv}_wg$w.json 2>&1 | grep -iE "prefill ms \(TTFT\)|error" | sed "s/^/$tag P$P $kv wg $w /"; }
for w in 21 11 12; do pf 1b 32768 fp8 $w; pf 1b 2048 bf16 $w; done
for w in 21 11; do pf 8b 2048 fp8 $w; pf 8b 32768 fp8 $w; done
cd $OUT && tar czf all.tgz --remove-files *
