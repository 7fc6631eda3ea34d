#!/usr/bin/env bash
# Session 26 run q5: a 2 KiB stage's 8 wgmmas as two interleaved chains of 4 into two
# accumulators (independent, one wait; "dual", the default of this build) against flag 32 (one
# chain of 8, q4's) and flag 48 (chains of 4, session 25). The GEMV op tests first, then 1B and
# 8B static batch 1 alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.MatchesCpu*:LinearCuda.LlamaShapes' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -6
grep -A8 "Failure" $OUT/test_ops.log | head -30
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
F=QINFER_CUDA_GEMV_BULK_FLAGS
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_dual_$r; lat 1b_c8_$r $F=32; lat 1b_c4_$r $F=48; done
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_dual_$r; lat 8b_c8_$r $F=32; lat 8b_c4_$r $F=48; done
cd $OUT && tar czf all.tgz --remove-files *
