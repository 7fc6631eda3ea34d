#!/usr/bin/env bash
# Session 28 run q3: the chain's grid barrier (branch exp/gemv-chain). 1B / 8B static batch 1
# with the chain on: the barrier as in q1 (QINFER_CUDA_GEMV_CHAIN_SYNC=1), its generation on a
# line of its own with a 64 ns back-off between polls (2), and no barrier at all (0: a bound,
# wrong results); the chain off and session 27's binary beside them. Traced: 1B sync 0 and 2.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
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
  head -1 $OUT/timeline_$tag.log; sed -n 12,16p $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
C=QINFER_CUDA_GEMV_CHAIN; Y=QINFER_CUDA_GEMV_CHAIN_SYNC
M=/tmp/l1b_s; DL=256
for r in 1 2; do lat 1b_off_$r qinfer; lat 1b_sync1_$r qinfer $C=1 $Y=1; lat 1b_sync2_$r qinfer $C=1 $Y=2; lat 1b_sync0_$r qinfer $C=1 $Y=0; lat 1b_s27_$r qinfer_s27; done
tr 1b_sync0 $C=1 $Y=0; tr 1b_sync2 $C=1 $Y=2
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_off_$r qinfer; lat 8b_sync2_$r qinfer $C=1 $Y=2; lat 8b_sync0_$r qinfer $C=1 $Y=0; lat 8b_sync0_220_$r qinfer $C=1 $Y=0 QINFER_CUDA_GEMV_CHAIN_KIB=220; done
cd $OUT && tar czf all.tgz --remove-files *
