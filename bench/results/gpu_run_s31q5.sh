#!/usr/bin/env bash
# Session 31 run q5: the engine step's token budget (--max-num-batched-tokens: the prefill
# chunk, 2048 by default) for the 8B offline 512 x 1000/1000 (FP8 KV), C 256 and C 512.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { c=$1; t=$2; timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --max-num-batched-tokens $t --out $OUT/offline_c${c}_t$t.json 2>&1 | grep -iE "output tok/s|itl|preempt|error" | head -4 | sed "s/^/c$c t$t /"; }
for t in 8192 2048 4096 16384; do off 256 $t; done
echo "elapsed $SECONDS s"
for t in 8192 2048 4096; do [ $SECONDS -lt 470 ] && off 512 $t; done
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
