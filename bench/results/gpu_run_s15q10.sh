tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention.Prefill*:CudaAttention.Generic*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1; echo "test_golden rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_golden.log | head
for t in 1 0; do QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t$t.json 2>&1 | grep -E "^BF16|^F8|^F32" | sed "s/^/tile $t /"; done
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lc() { tag=$1; P=$2; D=$3; kv=$4; timeout 200 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len $D --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_$kv.json 2>&1 | grep -iE "prefill ms \(TTFT\)|decode tok/s|error" | sed "s/^/$tag P$P $kv /"; }
M=/tmp/llama1b_fp8
lc 1b 131072 64 fp8; lc 1b 131072 64 bf16
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
lc 8b 32768 64 fp8; lc 8b 32768 64 bf16; lc 8b 2048 32 fp8
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
timeout 150 $T --max-concurrency 256 --out $OUT/off_c256.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/C256 /"
cd $OUT && tar czf all.tgz --remove-files *
