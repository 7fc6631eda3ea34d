#!/usr/bin/env bash
# Session 24 run q2: when the blocks of each batch-1 decode kernel become resident (block probes
# with start stamps, tools/probe_phases.py; the measurement build of q1), and two arms on it:
# QINFER_CUDA_GEMV_CARVEOUT=1 (every GEMV asks for the largest shared-memory carveout) and o on
# a 2-stage ring (QINFER_CUDA_GEMV_RING_KIB=4096x4096:96, 81 KB a block). tok/s from main's
# unprobed binary with the same arms.
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
  echo "== phases $tag"; tail -6 $OUT/phases_$tag.log; sed -n 3,7p $OUT/phases_$tag.log
  xz -T4 -1 $OUT/probe_$tag.bin
}
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
prb 1b
lat 1b_base1; lat 1b_carve1 QINFER_CUDA_GEMV_CARVEOUT=1
lat 1b_base2; lat 1b_carve2 QINFER_CUDA_GEMV_CARVEOUT=1
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
O2=QINFER_CUDA_GEMV_RING_KIB=4096x4096:96
prb 8b
prb 8b_carve QINFER_CUDA_GEMV_CARVEOUT=1
prb 8b_o2 $O2
for r in 1 2; do
  lat 8b_base$r; lat 8b_carve$r QINFER_CUDA_GEMV_CARVEOUT=1; lat 8b_o2_$r $O2
done
cd $OUT && tar czf all.tgz --remove-files *
