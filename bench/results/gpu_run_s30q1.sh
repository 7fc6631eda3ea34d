#!/usr/bin/env bash
# Session 30 run q1: the lm_head's weight tail kept in the persisting L2 set-aside
# (QINFER_CUDA_L2_PIN_MB; -1 = as much as the device allows, 0 = off). The new op test and the
# GEMV / greedy ones; golden and engine CUDA with the default (-1); 1B static batch 1 over pin
# sizes, alternating; CUPTI timelines off / default; 8B batch 1 off / default.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,power.draw --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mk1done >> $OUT/mk.log
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.L2Window*:FusedCuda.Greedy*:LinearCuda.*' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
grep -A8 "Failure" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
  grep -A8 "Failure" $OUT/$t.log | head -20
done
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
for m in l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
P=QINFER_CUDA_L2_PIN_MB
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|set-aside|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2; do for mb in 0 8 16 24 32 -1; do lat 1b_p${mb}_$r $P=$mb; done; done
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model /tmp/l1b_s \
    --prompt-len 128 --decode-len 256 --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; grep -E "gemv_slot|greedy_finish|rms_norm" $OUT/timeline_$tag.log | head -3
  rm -f $OUT/trace_$tag.csv
}
tr 1b_p0 $P=0; tr 1b_pd
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_p0_$r $P=0; lat 8b_pd_$r; done
python3 - $OUT <<'PY'
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + '/lat_*.json')):
    j = json.load(open(f)); print(f.split('/')[-1], j.get('l2_set_aside_bytes'), j.get('decode_tokens_head'))
PY
cd $OUT && tar czf all.tgz --remove-files *
