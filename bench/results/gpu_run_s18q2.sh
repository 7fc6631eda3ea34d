tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='CudaAttentionTc.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len $PL --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
b4() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 8 --input-len 128 --output-len 256 --max-concurrency 4 --out $OUT/b4_${tag}.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/b4 $tag /"; }
M=/tmp/llama1b_fp8; DL=256; PL=128
for r in 1 2 3; do lat 1b_p$r X=1; lat 1b_s8_$r QINFER_CUDA_ATTN_SPLITS=8; done
lat 1b_s4 QINFER_CUDA_ATTN_SPLITS=4; lat 1b_off QINFER_CUDA_ATTN_CLUSTER=0
for r in 1 2; do b4 1b_p$r X=1; b4 1b_s4_$r QINFER_CUDA_ATTN_SPLITS=4; done
PL=2048; DL=128; for r in 1 2; do lat 1b_2k_p$r X=1; lat 1b_2k_off$r QINFER_CUDA_ATTN_CLUSTER=0; done
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; DL=128; PL=128; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2; do lat 8b_p$r X=1; lat 8b_s8_$r QINFER_CUDA_ATTN_SPLITS=8; done
lat 8b_s4 QINFER_CUDA_ATTN_SPLITS=4; lat 8b_off QINFER_CUDA_ATTN_CLUSTER=0
for r in 1 2; do b4 8b_p$r X=1; b4 8b_s4_$r QINFER_CUDA_ATTN_SPLITS=4; done
PL=2048; for r in 1 2; do lat 8b_2k_p$r X=1; lat 8b_2k_off$r QINFER_CUDA_ATTN_CLUSTER=0; done
cd $OUT && tar czf all.tgz --remove-files *
