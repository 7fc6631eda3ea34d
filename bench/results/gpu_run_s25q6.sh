#!/usr/bin/env bash
# Session 25 run q6: q5 found gate_up on a 3-stage ring (QINFER_CUDA_GEMV_RING_KIB=
# 4096x28672:120) faster than its default 5 (8B 323.3 / 323.6 against 321.5 / 320.7 tok/s).
# Around it: gate_up on 2, 3, 4 stages, gate_up 3 + down 3, alternating, three rounds; the 1B's
# gate_up (3 stages by default) on 2.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static >> $OUT/mk.log 2>&1
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, ring table
  env QINFER_CUDA_GEMV_RING_KIB=$2 timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 \
    --decode-len $DL --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
M=/tmp/l8b_s; DL=128
for r in 1 2 3; do
  lat base_$r ""
  lat g3_$r 4096x28672:120
  lat g2_$r 4096x28672:100
  lat g4_$r 4096x28672:150
  lat g3d3_$r 4096x28672:120,14336x4096:128
done
M=/tmp/l1b_s; DL=256
for r in 1 2; do lat 1b_base_$r ""; lat 1b_g2_$r 2048x16384:90; done
cd $OUT && tar czf all.tgz --remove-files *
