#!/usr/bin/env bash
# Session 30 run q5: main's binary as committed (the decode attention writes o's codes above 2
# rows, QINFER_CUDA_ATTN_CODES=2). Op tests (tensor-core attention with codes, GEMV / fused),
# engine CUDA; 1B / 8B static batch 1; the 8B offline 512 x 1000/1000 at C 256 and C 512 with
# the codes on / off (QINFER_CUDA_ATTN_CODES=0).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='CudaAttentionTc.*:CudaAttention*:FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
grep -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
  grep -A8 "Failure" $OUT/$t.log | head -20
done
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l1b_s
X=QINFER_CUDA_ATTN_CODES
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2; do lat 1b_$r; done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk /tmp/l8b_s
M=/tmp/l8b_s; DL=128
lat 8b_1
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|mean ITL|preempt|error" | head -4 | sed "s/^/$tag /"; }
off c256_on 256; off c256_off 256 $X=0; off c512_on 512; off c512_off 512 $X=0
cd $OUT && tar czf all.tgz --remove-files *
