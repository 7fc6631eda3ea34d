#!/usr/bin/env bash
# Session 24 run q10: is it the ring's depth that copy-only frees (q9)? gate_up and down on
# 6-stage rings (QINFER_CUDA_GEMV_RING_KIB=...:227, against 5 at the default 192 KiB), and
# copy-only again, 8B static batch 1, main's binary, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk8.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
lat() { tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer_old bench --model /tmp/l8b_s --prompt-len 128 --decode-len 128 \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
GU=4096x28672:227; DN=14336x4096:227
for r in 1 2; do
  lat base$r
  lat gu6_$r QINFER_CUDA_GEMV_RING_KIB=$GU
  lat dn6_$r QINFER_CUDA_GEMV_RING_KIB=$DN
  lat both6_$r QINFER_CUDA_GEMV_RING_KIB=$GU,$DN
  lat copy$r QINFER_CUDA_GEMV_BULK_FLAGS=1
done
cd $OUT && tar czf all.tgz --remove-files *
