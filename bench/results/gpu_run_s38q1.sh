#!/usr/bin/env bash
# Session 38 run q1: the residual stream in BF16 where every residual add is a cuBLASLt FP8
# GEMM (QINFER_CUDA_RESID_BF16: 1 default, 0 F32 everywhere, 2 also over the CUTLASS tiles'
# shapes). Op tests (the BF16 norm, embedding, gather and add; the producers and tiles),
# the FP8 fixtures against their vLLM-style reference with the stream in BF16 and F32,
# golden / engine CUDA tests, gpu_golden (GPU vs CPU and vs transformers' fake-quant 8B-shaped
# 4-layer reference) with =2 and =0, then the 8B offline 512 x 1000/1000 C 512 alternated.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_l4 --layers 4 --reference > $OUT/mk.log 2>&1; echo mkrdone >> $OUT/mk.log
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.Bf16ResidualStream:FusedCuda.PrefillProducersAndBf16GateUp:FusedCuda.StaticProducers*:LinearCuda.Fp8GemmTilesMatchFormula' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|OK \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
QINFER_SOURCE_DIR=$PWD timeout 100 $B/tests/test_quant --gtest_filter='Fp8GoldenCuda.*' > $OUT/test_quant.log 2>&1
echo "test_quant rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_quant.log | head -8; grep -B2 -A8 "Failure" $OUT/test_quant.log | head -30
for t in test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \]" $OUT/$t.log | head -6; grep -B2 -A8 "Failure" $OUT/$t.log | head -30
done
echo "elapsed $SECONDS s"
while ! grep -q mkrdone $OUT/mk.log; do sleep 2; done
for r in 2 0; do
  QINFER_CUDA_RESID_BF16=$r timeout 100 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_r$r.json \
    tests/quant/data/fp8_* /tmp/l8b_l4 > $OUT/gpu_golden_r$r.log 2>&1
  echo "gpu_golden resid=$r rc=$?"; tail -12 $OUT/gpu_golden_r$r.log
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { [ $SECONDS -lt 520 ] || { echo "$1 skipped (time)"; return; }; tag=$1; shift; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; echo "elapsed $SECONDS s"; }
off r16a; off f32a QINFER_CUDA_RESID_BF16=0
off r16b; off f32b QINFER_CUDA_RESID_BF16=0
cd $OUT && tar czf all.tgz --remove-files *
