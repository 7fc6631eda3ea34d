#!/usr/bin/env bash
# Session 25 run q4 (q3 ran past its 600 s on the whole CUDA op suite, twice): wgmma in gemv_bulk
# as the default (flag 8 = mma.sync, as before). The GEMV, fused, persistent and attention-o op
# tests under the default, the bulk GEMV tests under flag 8; then same-run A/B: 8B static and
# dynamic (per-token) batch 1, and two sequences at once (throughput mode, concurrency 2).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_d --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 230 $B/tests/test_ops \
  --gtest_filter='FusedCuda.*:LinearCuda.MatchesCpu*:LinearCuda.LlamaShapes:FusedDecodeCuda.*:DecodePersistentCuda.*:AttentionOCuda.*' \
  > $OUT/test_ops_f0.log 2>&1; echo "test_ops default rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops_f0.log | head -8
QINFER_CUDA_GEMV_BULK_FLAGS=8 timeout 120 $B/tests/test_ops \
  --gtest_filter='FusedCuda.BulkGemv*:FusedCuda.LinearFromF32*:FusedCuda.MlpFromF32*:FusedDecodeCuda.*' \
  > $OUT/test_ops_f8.log 2>&1; echo "test_ops flags=8 rc=$?"
grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops_f8.log | head -8
grep -B3 -A10 "Failure" $OUT/test_ops_f0.log | head -40
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, flags
  env QINFER_CUDA_GEMV_BULK_FLAGS=$2 timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 \
    --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
two() {  # tag, flags
  env QINFER_CUDA_GEMV_BULK_FLAGS=$2 timeout 60 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 2 \
    --max-concurrency 2 --input-len 128 --output-len 256 --out $OUT/two_$1.json 2>&1 |
    grep -iE "output tok/s|error" | head -3 | sed "s/^/$1 /"
}
while ! grep -q mkdone $OUT/mk.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk.log
for m in l8b_s l8b_d; do tk /tmp/$m; M=/tmp/$m
  for r in 1 2; do lat ${m}_f0_$r 0; lat ${m}_f8_$r 8; done
done
M=/tmp/l8b_s; for r in 1 2; do two l8b_s_f0_$r 0; two l8b_s_f8_$r 8; done
cd $OUT && tar czf all.tgz --remove-files *
