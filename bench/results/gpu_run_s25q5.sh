#!/usr/bin/env bash
# Session 25 run q5 (main at 50d87c2, wgmma GEMV): which GEMVs share a multiprocessor, now that
# o's products are cheap. Ring budgets per shape (QINFER_CUDA_GEMV_RING_KIB, NINxNOUT:KIB): o on
# 2 stages (81 KB blocks) so that gate_up on 3 (115 KB) fits beside it and starts streaming
# while o runs; then down on 2 as well (91 KB) beside gate_up. 8B static batch 1, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
lat() {  # tag, ring table
  env QINFER_CUDA_GEMV_RING_KIB=$2 timeout 60 $B/apps/qinfer bench --model /tmp/l8b_s --prompt-len 128 \
    --decode-len 128 --out $OUT/lat_$1.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$1 /"
}
for r in 1 2; do
  lat base_$r ""
  lat o2_$r 4096x4096:96
  lat o2g3_$r 4096x4096:96,4096x28672:120
  lat o2g3d2_$r 4096x4096:96,4096x28672:120,14336x4096:100
  lat g3_$r 4096x28672:120
done
cd $OUT && tar czf all.tgz --remove-files *
