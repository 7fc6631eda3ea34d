#!/usr/bin/env bash
# Session 25 run q10 (main at e841c84): more shared-memory budgets per shape, env only,
# alternating, two rounds. 1B: qkv's blocks padded back to the 3-stage size (QINFER_CUDA_GEMV_SMEM
# 2048x3072:115712: was q8's gain o's alone?), down on 2 stages (8192x2048:96),
# QINFER_CUDA_GEMV_ALONE=0. 8B: qkv on 4 stages (4096x6144:160), o on 4 (4096x4096:160; a block
# streams 4).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 \
    --decode-len $DL --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
M=/tmp/l1b_s; DL=256
for r in 1 2; do
  lat 1b_base_$r X=0
  lat 1b_qkvpad_$r QINFER_CUDA_GEMV_SMEM=2048x3072:115712
  lat 1b_down2_$r QINFER_CUDA_GEMV_RING_KIB=8192x2048:96
  lat 1b_alone0_$r QINFER_CUDA_GEMV_ALONE=0
done
M=/tmp/l8b_s; DL=128
for r in 1 2; do
  lat 8b_base_$r X=0
  lat 8b_qkv4_$r QINFER_CUDA_GEMV_RING_KIB=4096x6144:160
  lat 8b_o4_$r QINFER_CUDA_GEMV_RING_KIB=4096x4096:160
done
cd $OUT && tar czf all.tgz --remove-files *
