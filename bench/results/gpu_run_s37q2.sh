#!/usr/bin/env bash
# Session 37 run q2: the decode attention's cache copies with cp.async's L2 prefetch-size hint
# (QINFER_CUDA_ATTN_L2P = 128 / 256 bytes; 0, no hint, as before; two-head FP8 units only), on
# the kernel alone (gpu_attention, FP8 cache, 256 / 512 x 1,500 keys) and in the 8B offline
# 512 x 1000/1000 C 512, alternated; main's code otherwise (with q1's 128 x 192 qkv tile).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for p in 0 256 128 0 256 128; do
  QINFER_CUDA_ATTN_L2P=$p timeout 60 $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:512x1500 --case F8_E4M3:256x1500 > $OUT/attn_l2p$p.log 2>&1
  echo "l2p $p"; grep -E "^F8_E4M3" $OUT/attn_l2p$p.log
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { [ $SECONDS -lt 520 ] || { echo "$1 skipped (time)"; return; }; tag=$1; shift; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; }
off l2p0a; off l2p256a QINFER_CUDA_ATTN_L2P=256; off l2p128a QINFER_CUDA_ATTN_L2P=128
off l2p0b; off l2p256b QINFER_CUDA_ATTN_L2P=256; off l2p128b QINFER_CUDA_ATTN_L2P=128
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
