#!/usr/bin/env bash
# Session 38 run q3: main's final code (the BF16 residual stream). The CUDA op suite, the FP8
# fixtures' GPU test (printing each mode's worst log-prob difference; again with cuBLASLt for
# every FP8 GEMM and promoted accumulation, to see where the GEMM path's distance from the
# reference comes from), golden and engine CUDA tests; then the 8B prefill of 2,048 tokens with
# the stream in BF16 and F32, alternated.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
q() { tag=$1; shift; env "$@" QINFER_SOURCE_DIR=$PWD timeout 60 $B/tests/test_quant --gtest_filter='*Fp8GoldenCuda*' > $OUT/test_quant_$tag.log 2>&1
  echo "test_quant $tag rc=$?"; grep -E "worst log-prob|^\[  (PASSED|FAILED)" $OUT/test_quant_$tag.log | sed "s/^/  /"; }
q default; q lt_promoted QINFER_CUDA_FP8_GEMM=lt QINFER_CUDA_FP8_FAST_ACCUM=0
QINFER_SOURCE_DIR=$PWD timeout 330 $B/tests/test_ops --gtest_filter='*Cuda*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 100 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|SKIPPED \]" $OUT/$t.log | head -6; grep -B2 -A8 "Failure" $OUT/$t.log | head -30
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
pre() { [ $SECONDS -lt 560 ] || { echo "$1 skipped (time)"; return; }; tag=$1; shift; env "$@" timeout 40 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 16 --out $OUT/pre_$tag.json 2>&1 | grep -iE "ttft|prefill|error" | head -2 | sed "s/^/$tag /"; }
pre r16a; pre f32a QINFER_CUDA_RESID_BF16=0; pre r16b; pre f32b QINFER_CUDA_RESID_BF16=0
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
