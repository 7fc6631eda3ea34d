#!/usr/bin/env bash
# Session 37 run q1: three changes for the 8B offline, each behind a switch for same-run A/B:
#  - the 128 x 192 CUTLASS tile for the 6144-wide qkv at 257-512 rows (QINFER_CUDA_TILE192, 1);
#  - decode rows' q rotated by the tensor-core attention as it loads it, rope_kv_write moving
#    only K / V for them (QINFER_CUDA_ROPE_Q_ATTN = the fewest decode rows, 64; 0 off);
#  - cuBLASLt's heuristic asked with no workspace (QINFER_CUDA_LT_WORKSPACE=0; default all).
# Op tests for the tiles and the attention, golden / engine CUDA tests, gpu_gemm at 256-1024
# rows, then the 8B offline 512 x 1000/1000 C 512 alternated.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 200 $B/tests/test_ops --gtest_filter='LinearCuda.Fp8Gemm*:CudaAttentionTc.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \]" $OUT/$t.log | head -6; grep -B2 -A8 "Failure" $OUT/$t.log | head -30
done
echo "elapsed $SECONDS s"
timeout 120 $B/bench/gpu_gemm --n 256,384,512,1024 --out $OUT/gemm.json > $OUT/gemm.log 2>&1; echo "gemm rc=$?"; grep -E "qkv|o_proj|tile|pick" $OUT/gemm.log | head -30
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { [ $SECONDS -lt 500 ] || { echo "$1 skipped (time)"; return; }; tag=$1; shift; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; }
off newa; off basea QINFER_CUDA_TILE192=0 QINFER_CUDA_ROPE_Q_ATTN=0
off tile QINFER_CUDA_ROPE_Q_ATTN=0; off ropeq QINFER_CUDA_TILE192=0
off newb; off baseb QINFER_CUDA_TILE192=0 QINFER_CUDA_ROPE_Q_ATTN=0
off ltws0 QINFER_CUDA_LT_WORKSPACE=0
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
