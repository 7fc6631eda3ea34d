#!/usr/bin/env bash
# Session 31 run q6: the decode attention's grid takes the tokens longest context first
# (AttnBatch::tok_order from the model's metadata; QINFER_CUDA_ATTN_ORDER=0: batch order).
# Tensor-core attention op tests (with a reordered run against the plain one, bit for bit),
# golden CUDA tests, and the 8B offline 512 x 1000/1000 (FP8 KV) at C 256 and C 512, on / off
# alternating; 1B batch 1 once each.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log
 python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='CudaAttentionTc.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 150 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1
echo "test_golden rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_golden.log | head -6; grep -A8 "Failure" $OUT/test_golden.log | head -20
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l8b_s
M=/tmp/l8b_s; X=QINFER_CUDA_ATTN_ORDER
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
off c256_on 256; off c256_off 256 $X=0
echo "elapsed $SECONDS s"
off c512_on 512; off c512_off 512 $X=0
echo "elapsed $SECONDS s"
[ $SECONDS -lt 480 ] && { off c256_on2 256; off c256_off2 256 $X=0; }
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk /tmp/l1b_s
for v in 1 0; do env $X=$v timeout 40 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 --out $OUT/lat_1b_$v.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/1b order=$v /"; done
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
