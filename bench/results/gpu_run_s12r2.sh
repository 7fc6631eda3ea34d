tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
T="$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for S in 2 0; do
QINFER_CUDA_GEMM_SPLITK=$S timeout 150 $T --max-concurrency 256 --out $OUT/tp_c256_splitk$S.json > $OUT/tp_c256_splitk$S.log 2>&1; grep -iE "output tok/s|error|split-K" $OUT/tp_c256_splitk$S.log | sort | uniq -c | head -20 | sed "s/^/C256 splitk$S /"
done
for P in 128 1024 4096; do for S in 0 1 2 4 8; do
QINFER_CUDA_ATTN_SPLITS=$S timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len $P --decode-len 96 --out $OUT/lat8b_p${P}_s$S.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/8b P$P splits$S /"
done; done
for P in 128 1024; do for S in 0 1 2 4; do
QINFER_CUDA_ATTN_SPLITS=$S timeout 60 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len $P --decode-len 192 --out $OUT/lat1b_p${P}_s$S.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/1b P$P splits$S /"
done; done
cd $OUT && tar czf all.tgz --remove-files *
