#!/usr/bin/env bash
# Session 35 run q6: the static silu (silu_mul_static_kernel) on a grid of (blocks a row, rows),
# the row from blockIdx.y (QINFER_CUDA_FLAT_2D=0: the 1-D grid over the batch's groups, a 64-bit
# division a thread ahead of its loads, as before). Op tests (FusedCuda, LinearCuda, OpsCuda),
# engine and golden CUDA tests; 8B offline C 512 new / old alternated; new traced by grid.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*:OpsCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -6; grep -A8 "Failure" $OUT/test_ops.log | head -20
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
OLD="QINFER_CUDA_FLAT_2D=0"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
off new1 512; off old1 512 $OLD; off new2 512; off old2 512 $OLD
echo "elapsed $SECONDS s"
off newt 512 $CU QINFER_CUPTI_OUT=/tmp/tr.csv
python3 tools/cupti_sums.py /tmp/tr.csv --top 40 --grid 'rms_norm|silu_mul|rope_kv|to_act' --out $OUT/sums_grid_newt.json > $OUT/sums_grid_newt.log 2>&1
grep -E "rms_norm|silu_mul|to_act|rope_kv|span" $OUT/sums_grid_newt.log | head -30
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
