#!/usr/bin/env bash
# Session 34 run q2: the host-side fixes of q1's gaps. (1) eager steps' BF16 lm_head over its
# rows rounded up to 64 (one cuBLASLt shape a group instead of one a step), (2) page-locked
# staging that outgrows its buffer keeps the old one instead of cudaFreeHost (a device-wide
# wait), (3) a new decode graph is captured while its eager first step runs instead of after
# a synchronize. Engine and golden CUDA tests; 8B offline C 512 this build against q1's
# (apps/qinfer_old, main's behaviour), alternated; this build traced (GPU records, runtime
# API, step trace) into tools/step_gaps.py.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; bin=$2; c=$3; shift 3; env "$@" timeout 150 $B/apps/$bin bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off new1 qinfer 512
off old1 qinfer_old 512
off new2 qinfer 512
off old2 qinfer_old 512
echo "elapsed $SECONDS s"
off newt qinfer 512 $CU QINFER_CUPTI_OUT=/tmp/tr.csv QINFER_CUPTI_API=/tmp/api.csv QINFER_STEP_TRACE=$OUT/steps_newt.csv
python3 tools/step_gaps.py /tmp/tr.csv $OUT/steps_newt.csv --api /tmp/api.csv --min-us 200 --top 30 --out $OUT/stepgaps_newt.json > $OUT/stepgaps_newt.log 2>&1
head -22 $OUT/stepgaps_newt.log
python3 tools/cupti_gaps.py /tmp/tr.csv --top 20 --out $OUT/gaps_newt.json > $OUT/gaps_newt.log 2>&1
echo "elapsed $SECONDS s"
[ $SECONDS -lt 520 ] && off new3 qinfer 512
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
