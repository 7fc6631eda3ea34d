#!/usr/bin/env bash
# Session 36 run q3: the step token budget (--max-num-batched-tokens 2048 default, 4096, 8192)
# on TensorRT-LLM's anchor workload (3,000 requests of 1,000/1,000
# queued at once), C 512, --gpu-memory-utilization 0.95 (no preemptions at 2048, q2). Main's code.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
echo "elapsed $SECONDS s"
M=/tmp/l8b_s
off() { tag=$1; n=$2; t=$3; shift 3; env "$@" timeout 270 $B/apps/qinfer bench --model $M --mode throughput --num-prompts $n --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --gpu-memory-utilization 0.95 --max-num-batched-tokens $t --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|kv.cache|error" | head -5 | sed "s/^/$tag /"; echo "elapsed $SECONDS s"; }
off n3000_t4096 3000 4096
off n3000_t8192 3000 8192
cd $OUT && tar czf all.tgz --remove-files *
