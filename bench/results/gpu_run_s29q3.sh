#!/usr/bin/env bash
# Session 29 run q3 (a measurement build, QINFER_CUDA_GREEDY_PROBE, not kept): why the lm_head
# with the greedy epilogue takes ~4 us more (q2: 168.2 against 164.0 us). CUPTI timelines of
# the 1B: off, on, 1 = no atomic (keys unused), 2 = the plain lm_head with the finisher after it,
# 3 = each warp's own atomic, no block barrier; then tok/s of each, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
G=QINFER_CUDA_GREEDY_LM_HEAD; P=QINFER_CUDA_GREEDY_PROBE
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model /tmp/l1b_s \
    --prompt-len 128 --decode-len 256 --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; grep -E "gemv_slot|greedy_finish|rms_norm" $OUT/timeline_$tag.log | head -3
  rm -f $OUT/trace_$tag.csv
}
tr off $G=0; tr on; tr p1 $P=1; tr p2 $P=2; tr p3 $P=3
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
for r in 1 2; do lat off_$r $G=0; lat on_$r; lat p1_$r $P=1; lat p2_$r $P=2; lat p3_$r $P=3; done
cd $OUT && tar czf all.tgz --remove-files *
