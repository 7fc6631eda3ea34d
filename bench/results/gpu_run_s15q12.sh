tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttentionTc*:CudaAttention.Decode*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head
for k in 1 2; do QINFER_CUDA_ATTN_SAT_BLOCKS=$k $B/bench/gpu_attention --decode-only --out $OUT/attn_decode_k$k.json > $OUT/attn_decode_k$k.log 2>&1; done
python3 - $OUT/attn_decode_k1.json $OUT/attn_decode_k2.json <<'PY'
import json,sys
a=json.load(open(sys.argv[1]))['decode']; b=json.load(open(sys.argv[2]))['decode']
for x,y in zip(a,b):
    if x['cache']!='F32': print(x['cache'],x['batch'],x['ctx'],'splits',x['tc_splits'],'->',y['tc_splits'],'us',round(x['tc_ms']*1e3,1),'->',round(y['tc_ms']*1e3,1))
PY
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lc() { tag=$1; P=$2; kv=$3; shift 3; env "$@" timeout 100 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len 64 --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_$kv.json 2>&1 | grep -iE "decode tok/s|error" | sed "s/^/$tag P$P $kv /"; }
M=/tmp/llama1b_fp8
for k in 1 2; do lc 1b_k$k 32768 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; lc 1b_k$k 8192 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; lc 1b_k$k 8192 bf16 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; done
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for k in 1 2; do lc 8b_k$k 8192 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; lc 8b_k$k 32768 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; lc 8b_k$k 8192 bf16 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; lc 8b_k$k 128 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; done
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
timeout 150 $T --max-concurrency 256 --out $OUT/off_c256_k2.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/C256 k2 /"
T2="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 64 --input-len 4000 --output-len 500 --kv-cache-dtype fp8 --max-concurrency 16"
for k in 1 2; do QINFER_CUDA_ATTN_SAT_BLOCKS=$k timeout 150 $T2 --out $OUT/c16_k$k.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/C16 4000-in k$k /"; done
cd $OUT && tar czf all.tgz --remove-files *
