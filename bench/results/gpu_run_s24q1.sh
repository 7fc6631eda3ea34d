#!/usr/bin/env bash
# Session 24 run q1: where the 8B's batch-1 attention (8.1 us a layer after qkv, the 1B's 3.8)
# and o (7.2 us for 5.6 us of bytes) lose their time. Block probes from a measurement build
# (worktree: -DQINFER_CUDA_PROBES=ON, gemv_bulk_kernel under __maxnreg__(112) so that its
# probed registers stay those of the unprobed qkv GEMV's allocation and the 8B attention's
# residency is as in production, and two more GEMV stamps: the ring's last prefetched stage
# present, the last stage present), summarized by tools/probe_phases.py (as run, copied to
# bench/results/probe_phases_s24.py); CUPTI timelines and tok/s from main's unprobed binary.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, binary, env...
  tag=$1; q=$2; shift 2
  env "$@" timeout 60 $q bench --model $M --prompt-len 128 --decode-len $DL $KV \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
prb() {  # tag, env...
  tag=$1; shift
  env QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=$OUT/probe_$tag.bin "$@" timeout 60 \
    $B/apps/qinfer_probe bench --model $M --prompt-len 128 --decode-len 64 $KV \
    --out $OUT/lat_probe_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/probe $tag /"
  python3 tools/probe_summary.py $OUT/probe_$tag.bin > $OUT/probe_$tag.log 2>&1
  python3 tools/probe_phases.py $OUT/probe_$tag.bin > $OUT/phases_$tag.log 2>&1
  echo "== phases $tag"; tail -6 $OUT/phases_$tag.log; sed -n 2,8p $OUT/phases_$tag.log
  rm -f $OUT/probe_$tag.bin
}
tr() {
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL $KV --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,9p $OUT/timeline_$tag.log; tail -6 $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
KV=""; DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
lat 1b_main1 $B/apps/qinfer
lat 1b_probebin $B/apps/qinfer_probe
prb 1b
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2; do
  KV=""; lat 8b_bf16_$r $B/apps/qinfer
  KV="--kv-cache-dtype fp8"; lat 8b_fp8_$r $B/apps/qinfer
done
KV=""; lat 8b_probebin $B/apps/qinfer_probe
KV=""; prb 8b_bf16
KV="--kv-cache-dtype fp8"; prb 8b_fp8
KV=""; tr 8b_bf16
KV="--kv-cache-dtype fp8"; tr 8b_fp8
cd $OUT && tar czf all.tgz --remove-files *
