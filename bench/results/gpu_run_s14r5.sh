tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
M=/tmp/llama8b_fp8; DL=128
for r in 1 2; do
lat 8b_def$r X=1
lat 8b_split1_$r QINFER_CUDA_ATTN_ONE_SPLIT=1
lat 8b_split2_$r QINFER_CUDA_ATTN_SPLITS=2
lat 8b_split8_$r QINFER_CUDA_ATTN_SPLITS=8
lat 8b_kib128_$r QINFER_CUDA_GEMV_BULK_KIB=128
lat 8b_kib192_$r QINFER_CUDA_GEMV_BULK_KIB=192
done
M=/tmp/llama1b_fp8; DL=256
for r in 1 2; do
lat 1b_def$r X=1
lat 1b_split2_$r QINFER_CUDA_ATTN_SPLITS=2
lat 1b_kib128_$r QINFER_CUDA_GEMV_BULK_KIB=128
lat 1b_kib192_$r QINFER_CUDA_GEMV_BULK_KIB=192
done
M=/tmp/llama8b_fp8
timeout 60 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 32 --out $OUT/lat8b_p2048.json 2>&1 | grep -iE "ttft|prefill|error" | sed "s/^/8b P2048 /"
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for C in 256 512; do timeout 100 $T --max-concurrency $C --out $OUT/tp_c$C.json 2>&1 | grep -iE "output tok/s|itl|error|preempt" | sed "s/^/C$C /"; done
cd $OUT && tar czf all.tgz --remove-files *
