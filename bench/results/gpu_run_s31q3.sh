#!/usr/bin/env bash
# Session 31 run q3: under fast accumulation the 128 x 224 tile is priced 1.13x per element
# (was 0.92x), so gate_up runs on cuBLASLt. bench/gpu_gemm's picks, the FP8 GEMM op test, and
# the 8B prefill 2048 / offline 512 x 1000/1000 (FP8 KV, C 256 and C 512) against q2's binary
# (apps/qinfer_q2: fast accumulation, the 0.92x price), alternating; 8B batch 1 once.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 100 $B/tests/test_ops --gtest_filter='LinearCuda.Fp8GemmTilesMatchFormula' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -4; grep -A6 "Failure" $OUT/test_ops.log | head -20
timeout 100 $B/bench/gpu_gemm --n 128,256,512,2048 --out $OUT/gpu_gemm.json > $OUT/gpu_gemm.log 2>&1
echo "gpu_gemm rc=$?"; cat $OUT/gpu_gemm.log
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
pre() { tag=$1; bin=$2; timeout 60 $B/apps/$bin bench --model $M --prompt-len 2048 --decode-len 16 --out $OUT/pre_$tag.json 2>&1 | grep -iE "ttft|error" | head -3 | sed "s/^/$tag /"; }
pre new_1 qinfer; pre q2_1 qinfer_q2; pre new_2 qinfer; pre q2_2 qinfer_q2
timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat_8b.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/8b b1 /"
off() { tag=$1; bin=$2; c=$3; timeout 100 $B/apps/$bin bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
off c256_new qinfer 256; off c256_q2 qinfer_q2 256
echo "elapsed $SECONDS s"
[ $SECONDS -lt 420 ] && { off c512_new qinfer 512; off c512_q2 qinfer_q2 512; }
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
