#!/usr/bin/env bash
# Session 33 run q2: where the GPU sits idle in the 8B offline run (main at the session's start,
# 66114dc): C 512 untraced, then under the CUPTI kernel tracer, summed by tools/cupti_sums.py
# (each kernel's advance) and tools/cupti_gaps.py (the idle gaps of the serving window and the
# kernels around them).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
off c512 512
off c512t 512 $CU QINFER_CUPTI_OUT=/tmp/tr.csv
python3 tools/cupti_sums.py /tmp/tr.csv --top 30 --out $OUT/sums_c512t.json > $OUT/sums_c512t.log 2>&1
python3 tools/cupti_gaps.py /tmp/tr.csv --top 30 --out $OUT/gaps_c512t.json 2>&1 | tee $OUT/gaps_c512t.log
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
