#!/usr/bin/env bash
# Session 28 run q1: o and gate_up in one kernel (gemv_bulk_chain, QINFER_CUDA_GEMV_CHAIN=1):
# one ring streams o's weight and then gate_up's, a grid barrier between o's rows and gate_up's
# prologue, so gate_up's first stages arrive during the attention. GEMV op tests (with the new
# FusedCuda.OMlpChainEqualsOThenMlp), golden and engine CUDA tests with the chain on, then 1B and
# 8B static batch 1: chain off / on (144 KiB, 220 KiB) against session 27's binary, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.MatchesCpu*:LinearCuda.LlamaShapes' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|OMlp" $OUT/test_ops.log | head -8
grep -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_CUDA_GEMV_CHAIN=1 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t (chain) rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
QINFER_CUDA_GEMV_CHAIN=1 timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden (chain) rc=$?"; grep -iE "fail|pass|error|l1b" $OUT/gpu_golden.log | tail -8
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, binary, env...
  tag=$1; bin=$2; shift 2
  env "$@" timeout 60 $B/apps/$bin bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
C=QINFER_CUDA_GEMV_CHAIN
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_off_$r qinfer; lat 1b_chain_$r qinfer $C=1; lat 1b_chain220_$r qinfer $C=1 QINFER_CUDA_GEMV_CHAIN_KIB=220; lat 1b_s27_$r qinfer_s27; done
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_off_$r qinfer; lat 8b_chain_$r qinfer $C=1; lat 8b_chain220_$r qinfer $C=1 QINFER_CUDA_GEMV_CHAIN_KIB=220; lat 8b_s27_$r qinfer_s27; done
cd $OUT && tar czf all.tgz --remove-files *
