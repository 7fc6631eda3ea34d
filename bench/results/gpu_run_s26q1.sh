#!/usr/bin/env bash
# Session 26 run q1: where main's batch-1 decode step goes now (after session 25's wgmma and ring
# changes): 1B and 8B static tok/s, a CUPTI timeline of each, and block probes (a
# -DQINFER_CUDA_PROBES=ON build of the same commit, apps/qinfer_probe) for which kernel's blocks
# are resident when, and each GEMV's release, x made and end.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
prb() {  # tag, env...
  tag=$1; shift
  env QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=$OUT/probe_$tag.bin "$@" timeout 60 \
    $B/apps/qinfer_probe bench --model $M --prompt-len 128 --decode-len 64 \
    --out $OUT/lat_probe_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/probe $tag /"
  python3 tools/probe_phases.py $OUT/probe_$tag.bin > $OUT/phases_$tag.log 2>&1
  echo "== phases $tag"; tail -6 $OUT/phases_$tag.log | cut -c1-220
  xz -T4 -1 $OUT/probe_$tag.bin
}
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,9p $OUT/timeline_$tag.log; tail -7 $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
lat 1b_1; lat 1b_2
prb 1b
tr 1b
lat 1b_3
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
lat 8b_1; lat 8b_2
prb 8b
tr 8b
cd $OUT && tar czf all.tgz --remove-files *
