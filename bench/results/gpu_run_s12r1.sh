tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='CudaAttentionTc*:CudaAttention.*' > $OUT/test_attn.log 2>&1; grep -E "^\[  (PASSED|FAILED) |FAILED|OK \]" $OUT/test_attn.log | head -30
wait; tail -2 $OUT/mk.log
for K in 1 0; do QINFER_CUDA_ATTN_KVH_FAST=$K timeout 120 $B/bench/gpu_attention --decode-only --out $OUT/attn_kvh$K.json > $OUT/attn_kvh$K.log 2>&1; grep -E "^(BF16|F8_E4M3) +(128|256) " $OUT/attn_kvh$K.log | sed "s/^/kvh$K /"; done
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
for E in 1 0 1 0; do
QINFER_CUDA_ATTN_EARLY=$E timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 128 --out $OUT/lat8b_e$E.json 2>&1 | grep -iE "decode.*tok/s|error" | sed "s/^/8b early$E /"
QINFER_CUDA_ATTN_EARLY=$E timeout 60 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 --out $OUT/lat1b_e$E.json 2>&1 | grep -iE "decode.*tok/s|error" | sed "s/^/1b early$E /"
done
T="$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for V in "256 1" "256 0" "512 1" "512 0"; do set -- $V
QINFER_CUDA_ATTN_KVH_FAST=$2 timeout 150 $T --max-concurrency $1 --out $OUT/tp_c$1_kvh$2.json 2>&1 | grep -iE "tok/s|error" | sed "s/^/C$1 kvh$2 /"
done
cd $OUT && tar czf all.tgz --remove-files *
