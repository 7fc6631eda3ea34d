#!/usr/bin/env bash
# Session 29 run q4: the kept form of greedy rows sampled by the lm_head (32 partial maxima a
# row, a block reduction, no barrier before the blocks' first loads; q3 traced it within 0.6 us
# of the plain lm_head) after the probes were taken out; the op test's tie now forced (row 0's
# maximum copied to output 0). Op, sampler, golden and engine CUDA tests; gpu_golden; 1B / 8B
# static batch 1 and 1B throughput at concurrency 4 and 8, on / off
# (QINFER_CUDA_GREEDY_LM_HEAD=0) alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|GreedyLm" $OUT/test_ops.log | head -8
grep -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|GreedyRows" $OUT/$t.log | head -6
  grep -A8 "Failure" $OUT/$t.log | head -20
done
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s \
  > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|error|l1b" $OUT/gpu_golden.log | tail -8
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
G=QINFER_CUDA_GREEDY_LM_HEAD
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_on_$r; lat 1b_off_$r $G=0; done
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_on_$r; lat 8b_off_$r $G=0; done
python3 - $OUT <<'PY'
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + '/lat_*.json')):
    j = json.load(open(f)); print(f.split('/')[-1], j.get('decode_tokens_head'))
PY
thr() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency 4 --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"
}
for r in 1 2; do thr 1b_c4_on_$r; thr 1b_c4_off_$r $G=0; done
thr8() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency 8 --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"
}
thr8 1b_c8_on; thr8 1b_c8_off $G=0
cd $OUT && tar czf all.tgz --remove-files *
