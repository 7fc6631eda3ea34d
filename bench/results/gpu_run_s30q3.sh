#!/usr/bin/env bash
# Session 30 run q3: copied x (kXCopied: the static down at batch 1-2, every W8A8 GEMV at 3-8
# rows) loaded by the consumer threads instead of one bulk copy (gemv_bulk flag 64 = the bulk
# copy, as before); with it o fed the attention's codes at batch 1 (QINFER_CUDA_ATTN_CODES=1)
# or only above 2 rows (2, the default). Op tests, golden CUDA; 1B / 8B static batch 1 and 1B
# throughput at concurrency 8, arms alternating: A = flag 64 + codes 0 (main's paths),
# B = the defaults, C = codes 1.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
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
while ! grep -q mk1done $OUT/mk.log; do sleep 2; done
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l1b_s
X=QINFER_CUDA_ATTN_CODES; F=QINFER_CUDA_GEMV_BULK_FLAGS
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_A_$r $F=64 $X=0; lat 1b_B_$r; lat 1b_C_$r $X=1; done
thr() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency 8 --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|mean ITL|error" | head -3 | sed "s/^/$tag /"
}
thr 1b_c8_A $F=64 $X=0; thr 1b_c8_B; thr 1b_c8_A2 $F=64 $X=0; thr 1b_c8_B2
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
tk /tmp/l8b_s
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_A_$r $F=64 $X=0; lat 8b_B_$r; lat 8b_C_$r $X=1; done
python3 - $OUT <<'PY'
import json, sys, glob
for f in sorted(glob.glob(sys.argv[1] + '/lat_*.json')):
    j = json.load(open(f)); print(f.split('/')[-1], j.get('decode_tokens_head'))
PY
cd $OUT && tar czf all.tgz --remove-files *
