#!/usr/bin/env bash
# Session 35 run q9 (branch exp/prefill-first): qinfer bench --schedule prefill-first (while a
# new prompt can be admitted, a step takes prompt chunks only and decode waits, vLLM V0's
# order) against the default decode-first, 8B offline C 512 alternated, with step traces.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { tag=$1; shift; timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512 "$@" --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|itl|ttft|error" | head -6 | sed "s/^/$tag /"; }
QINFER_STEP_TRACE=$OUT/steps_pf1.csv off pf1 --schedule prefill-first
QINFER_STEP_TRACE=$OUT/steps_df1.csv off df1
off pf2 --schedule prefill-first
off df2
echo "elapsed $SECONDS s"
for t in pf1 df1; do gzip $OUT/steps_$t.csv; done
cd $OUT && tar czf all.tgz --remove-files *
