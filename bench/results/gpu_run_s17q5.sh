tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
M=/tmp/llama1b_fp8; DL=256
for r in 1 2; do lat 1b_alone$r X=1; lat 1b_d2_$r QINFER_CUDA_GEMV_RING_KIB=8192x2048:84; lat 1b_q_$r QINFER_CUDA_GEMV_SMEM=2048x3072:115840; lat 1b_o_$r QINFER_CUDA_GEMV_SMEM=2048x2048:115840; done
cd $OUT && tar czf all.tgz --remove-files *
