#!/usr/bin/env bash
# Session 31 run q1: FP8 GEMMs with fast accumulation (QINFER_CUDA_FP8_FAST_ACCUM=1: CUTLASS's
# FP8FastAccum mainloops for our tiles, cuBLASLt's FAST_ACCUM) against the promoting default,
# same binary. Accuracy: the FP8 GEMM / linear op tests both ways, gpu_golden (GPU vs CPU and vs
# transformers' fake-quant 8B-shaped 4-layer reference) both ways. Speed: bench/gpu_gemm at
# 256 / 512 / 2048 rows both ways (and the 8192^3 ceiling each way), 8B prefill 2048 and the
# 8B offline 512 x 1000/1000 (FP8 KV) at C 256 and C 512, on / off alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_l4 --layers 4 --reference > $OUT/mk.log 2>&1; echo mkrdone >> $OUT/mk.log
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
X=QINFER_CUDA_FP8_FAST_ACCUM
for f in 0 1; do
  env $X=$f timeout 100 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedCuda.PrefillProducersAndBf16GateUp:FusedCuda.ActivationProducersFeedLinearAct' \
    > $OUT/test_ops_fast$f.log 2>&1; echo "test_ops fast=$f rc=$?"
  grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops_fast$f.log | head -8
  grep -B2 -A6 "Failure" $OUT/test_ops_fast$f.log | head -40
done
for f in 0 1; do
  env $X=$f timeout 120 $B/bench/gpu_gemm --n 256,512,2048 --out $OUT/gpu_gemm_fast$f.json > $OUT/gpu_gemm_fast$f.log 2>&1
  echo "gpu_gemm fast=$f rc=$?"; tail -40 $OUT/gpu_gemm_fast$f.log
done
while ! grep -q mkrdone $OUT/mk.log; do sleep 2; done
for f in 0 1; do
  env $X=$f timeout 150 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_fast$f.json \
    tests/golden/data/* tests/quant/data/fp8_* /tmp/l8b_l4 > $OUT/gpu_golden_fast$f.log 2>&1
  echo "gpu_golden fast=$f rc=$?"; tail -25 $OUT/gpu_golden_fast$f.log
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tail -2 $OUT/mk.log
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
pre() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 16 --out $OUT/pre_$tag.json 2>&1 | grep -iE "ttft|prefill|error" | head -3 | sed "s/^/$tag /"; }
pre fast0_1 $X=0; pre fast1_1 $X=1; pre fast0_2 $X=0; pre fast1_2 $X=1
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|preempt|error" | head -4 | sed "s/^/$tag /"; }
off c256_fast1 256 $X=1; off c256_fast0 256 $X=0
echo "elapsed $SECONDS s"
[ $SECONDS -lt 430 ] && { off c512_fast1 512 $X=1; off c512_fast0 512 $X=0; }
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
