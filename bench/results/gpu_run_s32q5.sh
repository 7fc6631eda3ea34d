#!/usr/bin/env bash
# Session 32 run q5: decode graphs up to 512 sequences on one shared set of activations
# (QINFER_CUDA_GRAPH_MAX_BATCH, default 512; 256 = the old bound). Engine and golden CUDA tests;
# 1B / 8B static batch 1; the 8B offline (FP8 KV) at C 512 both ways and at C 256.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log
 python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk /tmp/l8b_s; M=/tmp/l8b_s
X=QINFER_CUDA_GRAPH_MAX_BATCH
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|preempt|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off c512_g512 512; off c512_g256 512 $X=256
off c256_g512 256
echo "elapsed $SECONDS s"
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"; }
DL=128; lat 8b
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk /tmp/l1b_s; M=/tmp/l1b_s; DL=256; lat 1b_1; lat 1b_2
[ $SECONDS -lt 480 ] && { M=/tmp/l8b_s; off c512_g512b 512; }
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
