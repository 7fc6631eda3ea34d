#!/usr/bin/env bash
# Session 25 run q7: gate_up's ring at 128 KiB (3 stages) as the default. The fused MLP and GEMV
# op tests; 8B static batch 1 against the old budget (QINFER_CUDA_GEMV_RING_KIB=4096x28672:192),
# and two more budgets tried the same way: the 8B's qkv on 2 stages (4096x6144:96) and the
# 1B's o on 2 (2048x2048:80).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='FusedCuda.MlpFromF32*:FusedCuda.BulkGemv*:FusedCuda.LinearFromF32*:FusedDecodeCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -6
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, ring table
  env QINFER_CUDA_GEMV_RING_KIB=$2 timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 \
    --decode-len $DL --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
M=/tmp/l8b_s; DL=128
for r in 1 2 3; do lat new_$r ""; lat old_$r 4096x28672:192; lat qkv2_$r 4096x6144:96; done
M=/tmp/l1b_s; DL=256
for r in 1 2; do lat 1b_new_$r ""; lat 1b_o2_$r 2048x2048:80; done
cd $OUT && tar czf all.tgz --remove-files *
