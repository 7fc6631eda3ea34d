#!/usr/bin/env bash
# Session 25 run q11: a block's ring holds every stage it streams where that is at most 4 (the
# 8B's o: 4 instead of 3, q10's 4096x4096:160 arm as a rule; the 1B's down: 4 instead of 3)
# against QINFER_CUDA_GEMV_WHOLE=0, and the 1B with its down held at 3 (8192x2048:128). The
# bulk GEMV op tests first.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='FusedCuda.MlpFromF32*:FusedCuda.BulkGemv*:FusedCuda.LinearFromF32*:FusedDecodeCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -6
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 \
    --decode-len $DL --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l8b_s; DL=128
for r in 1 2 3; do lat 8b_whole_$r X=0; lat 8b_nowhole_$r QINFER_CUDA_GEMV_WHOLE=0; done
M=/tmp/l1b_s; DL=256
for r in 1 2; do
  lat 1b_whole_$r X=0; lat 1b_nowhole_$r QINFER_CUDA_GEMV_WHOLE=0
  lat 1b_down3_$r QINFER_CUDA_GEMV_RING_KIB=8192x2048:128
done
cd $OUT && tar czf all.tgz --remove-files *
