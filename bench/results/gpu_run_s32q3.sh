#!/usr/bin/env bash
# Session 32 run q3: where the 8B offline time goes after q2 (main at 3bd031b): C 512 and C 256
# under the CUPTI kernel tracer, summed by tools/cupti_sums.py (each kernel's advance); the
# attention table with one KV head a unit (QINFER_CUDA_ATTN_PAIR_MIN_TOK=0) for reference.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
QINFER_CUDA_ATTN_PAIR_MIN_TOK=0 $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 --case F8_E4M3:256x1024 --case F8_E4M3:128x8192 --out $OUT/attn_hp1.json 2>&1 | grep -E "^F8" | sed "s/^/hp1 /"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
offt() { tag=$1; c=$2; shift 2; off $tag $c $CU QINFER_CUPTI_OUT=/tmp/tr_$tag.csv "$@"; python3 tools/cupti_sums.py /tmp/tr_$tag.csv --top 30 --out $OUT/sums_$tag.json > $OUT/sums_$tag.log 2>&1; cat $OUT/sums_$tag.log; rm -f /tmp/tr_$tag.csv; }
offt c512t 512
echo "elapsed $SECONDS s"
[ $SECONDS -lt 380 ] && offt c256t 256
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
