tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lc() { tag=$1; P=$2; kv=$3; shift 3; env "$@" timeout 100 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len 64 --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_$kv.json 2>&1 | grep -iE "decode tok/s|decode ratio|error" | sed "s/^/$tag P$P $kv /"; }
M=/tmp/llama1b_fp8
lc 1b_def 32768 fp8 X=1; lc 1b_s32 32768 fp8 QINFER_CUDA_ATTN_SPLITS=32; lc 1b_s64 32768 fp8 QINFER_CUDA_ATTN_SPLITS=64; lc 1b_s128 32768 fp8 QINFER_CUDA_ATTN_SPLITS=128
lc 1b_def 8192 fp8 X=1; lc 1b_s64 8192 fp8 QINFER_CUDA_ATTN_SPLITS=64
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
lc 8b_def 8192 fp8 X=1; lc 8b_s32 8192 fp8 QINFER_CUDA_ATTN_SPLITS=32; lc 8b_s64 8192 fp8 QINFER_CUDA_ATTN_SPLITS=64; lc 8b_s128 8192 fp8 QINFER_CUDA_ATTN_SPLITS=128
lc 8b_def 8192 bf16 X=1; lc 8b_s64 8192 bf16 QINFER_CUDA_ATTN_SPLITS=64
lc 8b_def 32768 fp8 X=1; lc 8b_s64 32768 fp8 QINFER_CUDA_ATTN_SPLITS=64; lc 8b_s128 32768 fp8 QINFER_CUDA_ATTN_SPLITS=128
cd $OUT && tar czf all.tgz --remove-files *
