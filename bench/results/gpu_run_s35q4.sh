#!/usr/bin/env bash
# Session 35 run q4: the decode attention refilling a stage's K tile once Q K^T has read it and
# its V tile after P V, with all S stages in flight from the start (decode_tc_kernel KVH;
# QINFER_CUDA_ATTN_KV_HALVES=0: the whole stage at the next iteration's start, as before).
# Attention op tests; gpu_attention both ways; engine and golden CUDA tests; 8B offline C 512
# alternated; 8B and 1B static batch 1 both ways.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log
 python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 240 $B/tests/test_ops --gtest_filter='CudaAttention*:AttentionOCuda.*:FusedDecodeCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -6; grep -A8 "Failure" $OUT/test_ops.log | head -20
for e in 1 0 1 0; do QINFER_CUDA_ATTN_KV_HALVES=$e timeout 90 $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:512x1500 --case F8_E4M3:256x1500 --case F8_E4M3:256x1024 --case F8_E4M3:32x8192 --case BF16:256x1500 --case BF16:1x8192 --case F8_E4M3:1x8192 2>&1 | grep -E "^(F8|BF)" | sed "s/^/kvh$e /"; done
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
echo "elapsed $SECONDS s"
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk /tmp/l8b_s; M=/tmp/l8b_s
OLD=QINFER_CUDA_ATTN_KV_HALVES=0
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
off new1 512; off old1 512 $OLD; off new2 512; off old2 512 $OLD
echo "elapsed $SECONDS s"
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"; }
DL=128; lat 8b_new; lat 8b_old $OLD; lat 8b_new2; lat 8b_old2 $OLD
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk /tmp/l1b_s; M=/tmp/l1b_s; DL=256; lat 1b_new; lat 1b_old $OLD; lat 1b_new2; lat 1b_old2 $OLD
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
