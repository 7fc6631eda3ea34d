tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 250 $B/tests/test_ops --gtest_filter='CudaAttentionTc*' > $OUT/test_attn.log 2>&1; grep -E "^\[  (PASSED|FAILED) |FAILED|OK \]" $OUT/test_attn.log | head -30; grep -B3 -A8 "Failure" $OUT/test_attn.log | head -40
wait; tail -1 $OUT/mk.log
for K in 1 0; do QINFER_CUDA_ATTN_PAIR_MIN_TOK=$K timeout 120 $B/bench/gpu_attention --decode-only --out $OUT/attn_pair$K.json > $OUT/attn_pair$K.log 2>&1; grep -E "^F8_E4M3 " $OUT/attn_pair$K.log | sed "s/^/pair$K /"; done
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for V in "256 32" "256 0" "512 32" "512 0"; do set -- $V
QINFER_CUDA_ATTN_PAIR_MIN_TOK=$2 timeout 150 $T --max-concurrency $1 --out $OUT/tp_c$1_pair$2.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/C$1 pairmin$2 /"
done
for S in 0 4 0 4; do
QINFER_CUDA_ATTN_SPLITS=$S timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat8b_s$S.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/8b P128 splits$S /"
done
cd $OUT && tar czf all.tgz --remove-files *
