#!/usr/bin/env bash
# Session 29 run q5: where the 1B's throughput at concurrency 4 gains 8 % (q4: 3,941 against
# 3,653 output tok/s, ITL 0.99 against 1.07 ms): CUPTI timelines of that run with the greedy
# lm_head on / off (QINFER_CUDA_GREEDY_LM_HEAD=0).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s \
    --mode throughput --num-prompts 32 --input-len 128 --output-len 256 --max-concurrency 4 \
    --out $OUT/thr_trace_$tag.json 2>&1 | grep -iE "output tok/s|mean ITL|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; grep -A12 "^between steps" $OUT/timeline_$tag.log; tail -9 $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
tr 1b_c4_on; tr 1b_c4_off QINFER_CUDA_GREEDY_LM_HEAD=0
cd $OUT && tar czf all.tgz --remove-files *
