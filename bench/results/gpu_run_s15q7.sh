tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention.Prefill*:CudaAttention.Generic*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|^\[       OK" $OUT/test_ops.log | head -20
for t in 0 1 2; do QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t$t.json 2>&1 | grep -E "^BF16|^F8|^F32" | sed "s/^/tile $t /"; done
for t in 1 2 0; do QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t${t}b.json 2>&1 | grep -E "^BF16|^F8" | sed "s/^/tile $t /"; done
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_CUDA_PREFILL_TILE=1 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1; echo "golden (tile 1) rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_golden.log | head
for t in 0 1 2; do QINFER_CUDA_PREFILL_TILE=$t timeout 60 $B/apps/qinfer generate --model $M --prompt "The capital of France is" --max-tokens 32 --temperature 0 --json > $OUT/gen_t$t.json 2>&1; done; cmp $OUT/gen_t0.json $OUT/gen_t1.json && cmp $OUT/gen_t0.json $OUT/gen_t2.json && echo "8B greedy ids equal across tiles"
for r in 1 2; do for t in 0 1 2; do QINFER_CUDA_PREFILL_TILE=$t timeout 60 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 32 --out $OUT/p2048_t${t}_$r.json 2>&1 | grep -iE "ttft|prefill|error" | sed "s/^/P2048 tile $t /"; done; done
for t in 0 1 2; do QINFER_CUDA_PREFILL_TILE=$t timeout 90 $B/apps/qinfer bench --model $M --prompt-len 8192 --decode-len 16 --out $OUT/p8192_t$t.json 2>&1 | grep -iE "ttft|prefill|error" | sed "s/^/P8192 tile $t /"; done
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for t in 0 1 2; do QINFER_CUDA_PREFILL_TILE=$t timeout 150 $T --max-concurrency 256 --out $OUT/off_c256_t$t.json 2>&1 | grep -iE "output tok/s|error" | sed "s/^/C256 tile $t /"; done
cd $OUT && tar czf all.tgz --remove-files *
