#!/usr/bin/env bash
# Session 35 run q5: what the 8B layer GEMMs leave by taking cuBLASLt's first heuristic answer
# (bench/kernels/lt_algos: up to 16 algorithms a shape, each timed), and main's state (88de0bf,
# the attention of q4 reverted) on the 8B offline C 512, twice.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 240 $B/bench/lt_algos --n 256,512,1024,2048 --out $OUT/lt_algos.json 2>&1 | tee $OUT/lt_algos.log
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
off c512a 512; off c512b 512
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
