#!/usr/bin/env bash
# Session 23 runs q2-q8 (as run, then tools/gpu_run_persist2.sh, edited between runs: this is
# q8, the arms of the others are in gpu_run_s23.cmd): the op test of decode_layers_persistent,
# gpu_golden with it on, batch-1 A/B on the static 1B and 8B, and phase traces
# (tools/persist_trace.py) of eager steps (QINFER_CUDA_GRAPHS=0, QINFER_CUDA_PERSIST_TRACE).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
for f in 1; do
  QINFER_CUDA_PERSIST_FENCE=$f timeout 250 $B/tests/test_ops --gtest_filter='DecodePersistentCuda.*' \
    > $OUT/test_ops_f$f.log 2>&1
  echo "test_ops fence=$f rc=$?"
  grep -E "^\[  (PASSED|FAILED)|Failure|differs|actual" $OUT/test_ops_f$f.log | head -12
done
gold() {  # tag, env, checkpoints...
  tag=$1; e=$2; shift 2
  env $e timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_$tag.json "$@" \
    > $OUT/gpu_golden_$tag.log 2>&1
  echo "gpu_golden $tag rc=$?"; grep -E "OK|FAIL|rror|l1b" $OUT/gpu_golden_$tag.log | tail -5
}
gold on QINFER_CUDA_PERSIST=1 tests/quant/data/fp8_*_static /tmp/l1b_s
lat() {
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
ptr() {  # eager steps, the last one's phase trace
  tag=$1; shift
  env QINFER_CUDA_GRAPHS=0 QINFER_CUDA_PERSIST=1 QINFER_CUDA_PERSIST_TRACE=$OUT/ptrace_$tag.csv "$@" \
    timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 32 \
    --out $OUT/lat_ptrace_$tag.json 2>&1 | grep -iE "error" | head -3
  echo "== trace $tag"; python3 tools/persist_trace.py $OUT/ptrace_$tag.csv
}
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
P=QINFER_CUDA_PERSIST=1
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2; do
  lat 1b_off$r QINFER_CUDA_PERSIST=0
  lat 1b_on$r $P
done
ptr 1b
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2; do
  lat 8b_off$r QINFER_CUDA_PERSIST=0
  lat 8b_on$r $P
done
ptr 8b
cd $OUT && tar czf all.tgz --remove-files *
