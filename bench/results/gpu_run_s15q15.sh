tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
M=/tmp/llama1b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
lc() { tag=$1; shift; env "$@" timeout 100 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 256 --kv-cache-dtype fp8 --out $OUT/${tag}.json 2>&1 | grep -iE "decode tok/s|error" | sed "s/^/$tag /"; }
for r in 1 2; do lc 1b_fp8kv_k2_$r X=1; lc 1b_fp8kv_k1_$r QINFER_CUDA_ATTN_SAT_BLOCKS=1; done
cd $OUT && tar czf all.tgz --remove-files *
