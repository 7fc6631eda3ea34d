#!/usr/bin/env bash
# Session 36 run q7: on q6's machine (q6's single offline run read 14,888.1), the mixed steps'
# two streams against one stream, alternated: 8B offline 512 x 1000/1000 C 512, main's final code.
set -u
[ -d .gpu_assets/b ] || tar xJf .gpu_assets/b.txz -C .gpu_assets
export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
if [ ! -f /tmp/l8b_s/tokenizer_config.json ]; then
  python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
  gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
fi
off() { tag=$1; shift; env "$@" timeout 100 $B/apps/qinfer bench --model /tmp/l8b_s --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -3 | sed "s/^/$tag /"; }
off ov0a QINFER_CUDA_MIXED_OVERLAP=0; off ov1a; off ov0b QINFER_CUDA_MIXED_OVERLAP=0; off ov1b
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
