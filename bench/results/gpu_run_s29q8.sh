#!/usr/bin/env bash
# Session 29 run q8: the slot GEMV with R output rows a warp (each activation float4 feeds R
# rows: R times less L1 traffic for x), QINFER_CUDA_SLOT_ROWS=1/2/4 for BF16 weights at 2-8
# activation rows. GEMV op tests under each R; 1B throughput at concurrency 2, 4 and 8 (greedy
# lm_head off: the non-greedy instance; and on at c4) under each R; 1B batch 1 against q7's
# binary (apps/qinfer_s29b: the 1-row instances' registers).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for r in 2 4 1; do
  QINFER_CUDA_SLOT_ROWS=$r timeout 200 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*' > $OUT/test_ops_r$r.log 2>&1
  echo "test_ops R=$r rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops_r$r.log | head -4; grep -A6 "Failure" $OUT/test_ops_r$r.log | head -12
done
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_CUDA_SLOT_ROWS=4 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_engine --gtest_filter='*Cuda*' > $OUT/test_engine.log 2>&1
echo "test_engine R=4 rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_engine.log | head -3
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
thr() {  # tag, concurrency, env...
  tag=$1; c=$2; shift 2
  env "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 \
    --input-len 128 --output-len 256 --max-concurrency $c --out $OUT/thr_$tag.json 2>&1 |
    grep -iE "output tok/s|mean ITL|error" | head -3 | tr '\n' ' ' | sed "s/^/$tag /"; echo
}
G=QINFER_CUDA_GREEDY_LM_HEAD=0
for c in 4 8 2; do for r in 1 2 4; do thr c${c}_off_r$r $c $G QINFER_CUDA_SLOT_ROWS=$r; done; done
for r in 1 2 4; do thr c4_on_r$r 4 QINFER_CUDA_SLOT_ROWS=$r; done
lat() {  # tag, binary, env...
  tag=$1; bin=$2; shift 2
  env "$@" timeout 60 $B/apps/$bin bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"
}
for k in 1 2; do lat 1b_on_$k qinfer; lat 1b_prev_$k qinfer_s29b; lat 1b_off_$k qinfer $G; lat 1b_prevoff_$k qinfer_s29b $G; done
cd $OUT && tar czf all.tgz --remove-files *
