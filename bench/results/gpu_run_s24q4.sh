#!/usr/bin/env bash
# Session 24 run q4: do the GEMV epilogue operands' global loads (w_scale, bias, y, RoPE's cos /
# sin and slot), issued as a tile starts, hold up the consumers' next mbarrier wait? Two
# measurement flags of gemv_bulk (QINFER_CUDA_GEMV_BULK_FLAGS): 16 loads them at the tile's last
# stage instead, 8 does not load them at all (wrong results: timing only). Probed (the q3
# build) and unprobed tok/s on the static 1B and 8B at batch 1.
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
  echo "== phases $tag"; tail -5 $OUT/phases_$tag.log | cut -c1-200
  xz -T4 -1 $OUT/probe_$tag.bin
}
F=QINFER_CUDA_GEMV_BULK_FLAGS
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
prb 1b; prb 1b_late $F=16; prb 1b_none $F=8
for r in 1 2; do lat 1b_base$r; lat 1b_late$r $F=16; lat 1b_none$r $F=8; done
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
prb 8b; prb 8b_late $F=16; prb 8b_none $F=8
for r in 1 2; do lat 8b_base$r; lat 8b_late$r $F=16; lat 8b_none$r $F=8; done
cd $OUT && tar czf all.tgz --remove-files *
