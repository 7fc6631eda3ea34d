tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention*:FusedDecodeCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head; done
for t in 1 0; do QINFER_CUDA_PREFILL_TILE=$t $B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill_t$t.json 2>&1 | grep -E "^BF16|^F8|^F32" | sed "s/^/tile $t /"; done
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
pf() { tag=$1; P=$2; t=$3; QINFER_CUDA_PREFILL_TILE=$t timeout 150 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len 16 --out $OUT/${tag}_p${P}_t$t.json 2>&1 | grep -iE "prefill ms \(TTFT\)|prefill ratio|error" | sed "s/^/$tag P$P tile $t /"; }
M=/tmp/llama8b_fp8
for r in 1 2; do pf 8b 2048 1; pf 8b 2048 0; done
pf 8b 8192 1; pf 8b 8192 0; pf 8b 32768 1; pf 8b 32768 0
M=/tmp/llama1b_fp8
for r in 1 2; do pf 1b 2048 1; pf 1b 2048 0; done
pf 1b 32768 1; pf 1b 32768 0
cd $OUT && tar czf all.tgz --remove-files *
