#!/usr/bin/env bash
# Session 24 run q13: q12 found the consumers' MMAs the costly part (no MMAs: 8B 329 against 308
# tok/s). gemv_bulk now frees a stage as soon as its loads are in registers, before the MMAs
# (flag 128: after them, as before). The GEMV op tests, then 8B and 1B static batch 1 A/B.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk8.log 2>&1
 python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
timeout 150 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedDecodeCuda.*:FusedCuda.MlpFromF32*:FusedCuda.StaticProducers*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -6
while ! grep -q mkdone $OUT/mk8.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
for r in 1 2; do for m in l8b_s l1b_s; do for f in 0 128; do
  env QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 40 $B/apps/qinfer bench --model /tmp/$m --prompt-len 128 \
    --decode-len 128 --out $OUT/lat_${m}_f${f}_$r.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$m flags=$f /"
done; done; done
cd $OUT && tar czf all.tgz --remove-files *
