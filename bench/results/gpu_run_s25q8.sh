#!/usr/bin/env bash
# Session 25 run q8: no more ring stages than a block streams (the 1B's o and qkv on 2 instead
# of 3; the 8B unchanged), against QINFER_CUDA_GEMV_STAGE_CAP=0, after the GEMV and fused op
# tests. 1B and 8B static batch 1, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.MatchesCpu*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -6
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, cap
  env QINFER_CUDA_GEMV_STAGE_CAP=$2 timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 \
    --decode-len $DL --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_cap_$r 1; lat 1b_nocap_$r 0; done
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_cap_$r 1; lat 8b_nocap_$r 0; done
cd $OUT && tar czf all.tgz --remove-files *
