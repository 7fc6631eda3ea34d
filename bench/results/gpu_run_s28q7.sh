#!/usr/bin/env bash
# Session 28 run q7: why o slows beside claiming gate_up blocks (q4-q6). gate_up only
# (QINFER_CUDA_GEMV_CLAIM_ALL=0): claiming after claim_fixed units, against the claiming kernel
# with every unit fixed in its strided order and no atomic (QINFER_CUDA_GEMV_CLAIM_NONE=1), and
# off; 1B and 8B static batch 1, traced.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
F=QINFER_CUDA_GEMV_BULK_FLAGS; A=QINFER_CUDA_GEMV_CLAIM_ALL; N=QINFER_CUDA_GEMV_CLAIM_NONE
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, binary, env...
  tag=$1; bin=$2; shift 2
  env "$@" timeout 60 $B/apps/$bin bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; sed -n 12,17p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
M=/tmp/l1b_s; DL=256
for r in 1 2; do lat 1b_off_$r qinfer; lat 1b_gu_$r qinfer $F=64 $A=0; lat 1b_none_$r qinfer $F=64 $A=0 $N=1; done
tr 1b_none $F=64 $A=0 $N=1
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_off_$r qinfer; lat 8b_gu_$r qinfer $F=64 $A=0; lat 8b_none_$r qinfer $F=64 $A=0 $N=1; done
tr 8b_none $F=64 $A=0 $N=1
cd $OUT && tar czf all.tgz --remove-files *
