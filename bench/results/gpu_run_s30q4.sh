#!/usr/bin/env bash
# Session 30 run q4: a static down projection at batch 1-2 making its codes from gate_up's F32 h
# in its prologue (kXFromSilu under the static scale; QINFER_CUDA_STATIC_DOWN_MADE=1) against
# copying gate_up's codes (kXCopied, the default). q2 / q3 found o slower fed copied codes than
# making them (1B 1397-1415 against 1422-1426 tok/s, 8B 320-321.5 against 325). Op tests, golden
# CUDA; 1B / 8B static batch 1 alternating; CUPTI timelines of the 1B both ways; 1B throughput
# at concurrency 8 with the attention's codes above 2 rows (default) / off.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/tests/test_ops --gtest_filter='CudaAttentionTc.*:FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
grep -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
  grep -A8 "Failure" $OUT/$t.log | head -20
done
QINFER_CUDA_STATIC_DOWN_MADE=1 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden_made.log 2>&1
echo "test_golden made rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_golden_made.log | head -3
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l1b_s
D=QINFER_CUDA_STATIC_DOWN_MADE; X=QINFER_CUDA_ATTN_CODES
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_copied_$r; lat 1b_made_$r $D=1; done
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model /tmp/l1b_s \
    --prompt-len 128 --decode-len 256 --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 3,8p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
tr 1b_copied; tr 1b_made $D=1
thr() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency 8 --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|mean ITL|error" | head -3 | sed "s/^/$tag /"
}
thr 1b_c8_codes; thr 1b_c8_nocodes $X=0; thr 1b_c8_codes2; thr 1b_c8_nocodes2 $X=0
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk /tmp/l8b_s
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_copied_$r; lat 8b_made_$r $D=1; done
python3 - $OUT <<'PY'
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + '/lat_*.json')):
    j = json.load(open(f)); print(f.split('/')[-1], j.get('decode_tokens_head'))
PY
cd $OUT && tar czf all.tgz --remove-files *
