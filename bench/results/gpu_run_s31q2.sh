#!/usr/bin/env bash
# Session 31 run q2: fast accumulation as the default (QINFER_CUDA_FP8_FAST_ACCUM unset = 1).
# Op tests (LinearCuda.* incl. Fp8GemmTilesMatchFormula under both accumulations, with n_in
# 14,336, and the prefill producers), golden CUDA tests, bench/gpu_gemm under the default, the
# 8B prefill 2048 and the 8B offline 512 x 1000/1000 C 256 default against =0.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedCuda.PrefillProducersAndBf16GateUp:FusedCuda.StaticProducersMatchRowProducersBitForBit' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"
grep -E "^\[ +(OK|FAILED|PASSED)|FAILED  \]" $OUT/test_ops.log | head -12
grep -B2 -A6 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 150 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1
echo "test_golden rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_golden.log | head -6; grep -A8 "Failure" $OUT/test_golden.log | head -20
timeout 120 $B/bench/gpu_gemm --n 128,256,512,1024,2048 --out $OUT/gpu_gemm.json > $OUT/gpu_gemm.log 2>&1
echo "gpu_gemm rc=$?"; cat $OUT/gpu_gemm.log
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s; X=QINFER_CUDA_FP8_FAST_ACCUM
pre() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 16 --out $OUT/pre_$tag.json 2>&1 | grep -iE "measured|ttft|error" | head -3 | sed "s/^/$tag /"; }
pre def_1; pre off_1 $X=0; pre def_2; pre off_2 $X=0
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
off c256_def 256; off c256_off 256 $X=0
echo "elapsed $SECONDS s"
[ $SECONDS -lt 460 ] && off c512_def 512
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
