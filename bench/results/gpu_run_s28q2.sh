#!/usr/bin/env bash
# Session 28 run q2: where the chain's time goes (q1: 1B 1266 against 1424 tok/s, 8B 300
# against 325). CUPTI timelines of the 1B with the chain off / on (144 KiB, 96 KiB), the 8B on.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 2,9p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
C=QINFER_CUDA_GEMV_CHAIN
M=/tmp/l1b_s; DL=256
tr 1b_off; tr 1b_chain $C=1; tr 1b_chain96 $C=1 QINFER_CUDA_GEMV_CHAIN_KIB=96
M=/tmp/l8b_s; DL=128
tr 8b_chain $C=1
cd $OUT && tar czf all.tgz --remove-files *
