#!/usr/bin/env bash
# Session 26 run q2: q1's probes have the 1B's qkv blocks starting only as down ends (+0.36 us),
# though since session 25 a qkv block (2 stages, 77 KiB) fits beside a down block (116 KiB) by
# capacity and gate_up ended 7.7 us earlier. Is it the shared-memory carveout the driver picks
# for down (132 KiB, no room for qkv)? Arm "carve": QINFER_CUDA_GEMV_CARVEOUT=1, every GEMV asking
# for the largest carveout. 1B A/B alternating and probed; 8B the same, and with down on 3 stages
# and qkv on 2 (RING_KIB) so that those two fit one multiprocessor as well.
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
C=QINFER_CUDA_GEMV_CARVEOUT=1
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2 3; do lat 1b_base_$r; lat 1b_carve_$r $C; done
prb 1b_carve $C
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
R=QINFER_CUDA_GEMV_RING_KIB=14336x4096:128,4096x6144:96
for r in 1 2; do lat 8b_base_$r; lat 8b_carve_$r $C; lat 8b_carve_ring_$r $C $R; done
prb 8b_carve_ring $C $R
cd $OUT && tar czf all.tgz --remove-files *
