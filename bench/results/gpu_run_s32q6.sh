#!/usr/bin/env bash
# Session 32 run q6: the C 256 decode graphs' attention in two splits (QINFER_CUDA_ATTN_SPLITS=2,
# clusters merging them) against the planned one, now that the FP8 pairs copy whole tiles from
# one address computation; main as committed (d27c121).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s; X=QINFER_CUDA_ATTN_SPLITS
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off c256_s2 256 $X=2; off c256_s0 256; off c256_s2b 256 $X=2; off c256_s0b 256
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
