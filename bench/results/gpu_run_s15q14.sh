tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
tp() { tag=$1; n=$2; i=$3; o=$4; c=$5; kv=$6; shift 6; env "$@" timeout 120 $B/apps/qinfer bench --model $M --mode throughput --num-prompts $n --input-len $i --output-len $o --max-concurrency $c --kv-cache-dtype $kv --out $OUT/${tag}.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/$tag /"; }
for k in 2 1; do tp c64_1000_k$k 128 1000 500 64 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; tp c64_2000bf16_k$k 128 2000 300 64 bf16 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; tp c32_4000_k$k 64 4000 300 32 fp8 QINFER_CUDA_ATTN_SAT_BLOCKS=$k; done
cd $OUT && tar czf all.tgz --remove-files *
