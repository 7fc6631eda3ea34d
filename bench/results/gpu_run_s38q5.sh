#!/usr/bin/env bash
# Session 38 run q5: TensorRT-LLM's anchor workload (3,000 prompts of 1,000 / 1,000, C 512,
# --gpu-memory-utilization 0.9) on main's final code (BF16 residual stream and BF16 QKV output)
# against the same binary with the QKV output in F32 (QINFER_CUDA_QKV_BF16=0), same run.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
echo "elapsed $SECONDS s"
M=/tmp/l8b_s
off() { tag=$1; shift; env "$@" timeout 250 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 3000 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; echo "elapsed $SECONDS s"; }
off n3000_q16
off n3000_q32 QINFER_CUDA_QKV_BF16=0
cd $OUT && tar czf all.tgz --remove-files *
