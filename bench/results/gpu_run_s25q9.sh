#!/usr/bin/env bash
# Session 25 run q9: main at the session's end (wgmma GEMV, gate_up's ring on 128 KiB, stage
# cap): golden and engine CUDA tests, gpu_golden on the FP8 fixtures and the random static 1B,
# and the 8B / 1B static batch-1 numbers once more.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|error|l1b|OK" $OUT/gpu_golden.log | tail -8
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
for r in 1 2; do
  timeout 60 $B/apps/qinfer bench --model /tmp/l8b_s --prompt-len 128 --decode-len 128 --out $OUT/lat_8b_$r.json 2>&1 | grep -E "^decode tok/s" | sed "s/^/8b /"
  timeout 60 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 --out $OUT/lat_1b_$r.json 2>&1 | grep -E "^decode tok/s" | sed "s/^/1b /"
done
cd $OUT && tar czf all.tgz --remove-files *
