#!/usr/bin/env bash
# Session 25 run q3: wgmma in gemv_bulk as the default (flag 8 = mma.sync, as before). The CUDA op
# tests under the default and under flag 8, golden and engine CUDA tests, gpu_golden; then
# A/B in the same run: 8B static and dynamic (per-token) batch 1, and two sequences at once
# (throughput mode, concurrency 2), and gpu_kernels' per-GEMV table (its "mma.sync" column).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_d --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for f in 0 8; do
  QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 240 $B/tests/test_ops --gtest_filter='*Cuda*' \
    > $OUT/test_ops_f$f.log 2>&1; echo "test_ops flags=$f rc=$?"
  grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops_f$f.log | head -8
done
grep -B3 -A10 "Failure" $OUT/test_ops_f0.log | head -40
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
timeout 150 $B/bench/gpu_kernels --out $OUT/gpu_kernels.json > $OUT/gpu_kernels.log 2>&1; echo "gpu_kernels rc=$?"
grep -A40 "^gemv " $OUT/gpu_kernels.log | head -45
while ! grep -q mkdone $OUT/mk.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk.log
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|error|l1b" $OUT/gpu_golden.log | tail -8
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
for m in l8b_s l8b_d; do tk /tmp/$m; M=/tmp/$m
  for r in 1 2; do lat ${m}_f0_$r 0; lat ${m}_f8_$r 8; done
done
M=/tmp/l8b_s; for r in 1 2; do two l8b_s_f0_$r 0; two l8b_s_f8_$r 8; done
cd $OUT && tar czf all.tgz --remove-files *
