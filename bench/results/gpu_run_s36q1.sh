#!/usr/bin/env bash
# Session 36 run q1: the offline 1000/1000 run with TensorRT-LLM's workload for its anchor
# (perf-overview: 3,000 requests of 1,000/1,000 queued at once; here 1,536 to explore): how many
# prompts, the concurrency cap and the step's token budget. Main's code (4a65c71), static FP8.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
echo "elapsed $SECONDS s"
M=/tmp/l8b_s
off() { tag=$1; n=$2; c=$3; t=$4; shift 4; env "$@" timeout 170 $B/apps/qinfer bench --model $M --mode throughput --num-prompts $n --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --max-num-batched-tokens $t --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|kv.cache|error" | head -5 | sed "s/^/$tag /"; echo "elapsed $SECONDS s"; }
off n1536_c512 1536 512 2048
off n1536_c640 1536 640 2048
off n1536_c768 1536 768 2048
off n1536_c640_t4096 1536 640 4096
cd $OUT && tar czf all.tgz --remove-files *
