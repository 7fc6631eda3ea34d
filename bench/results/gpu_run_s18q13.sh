tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention.*:CudaAttentionTc.*:FusedCuda.*:FusedDecodeCuda.*:LinearCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len $PL --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
M=/tmp/llama1b_fp8; PL=128; DL=256
for r in 1 2; do lat 1b_push$r X=1; lat 1b_pull$r QINFER_CUDA_ATTN_PUSH=0; done
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; DL=128; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2; do lat 8b_final$r X=1; done
timeout 150 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256 --out $OUT/tp_c256.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/offline C256 /"
cd $OUT && tar czf all.tgz --remove-files *
