#!/usr/bin/env bash
# Session 38 run q2: the BF16 residual stream's op test (shapes the float64 formula can check
# quickly) and the FP8 fixtures against their vLLM-style reference with the stream in BF16 and
# F32 (q1 ran neither: a test too slow, a filter that matched nothing); then TensorRT-LLM's
# anchor workload (3,000 prompts of 1,000 / 1,000, C 512) with the stream in BF16 (default)
# against F32 (QINFER_CUDA_RESID_BF16=0), same run.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
QINFER_SOURCE_DIR=$PWD timeout 100 $B/tests/test_ops --gtest_filter='FusedCuda.Bf16ResidualStream' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|OK \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
QINFER_SOURCE_DIR=$PWD timeout 100 $B/tests/test_quant --gtest_filter='*Fp8GoldenCuda*' > $OUT/test_quant.log 2>&1
echo "test_quant rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|OK \]" $OUT/test_quant.log | head -8; grep -B2 -A8 "Failure" $OUT/test_quant.log | head -30
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
echo "elapsed $SECONDS s"
M=/tmp/l8b_s
off() { tag=$1; shift; env "$@" timeout 250 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 3000 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; echo "elapsed $SECONDS s"; }
off n3000_r16
off n3000_f32 QINFER_CUDA_RESID_BF16=0
cd $OUT && tar czf all.tgz --remove-files *
