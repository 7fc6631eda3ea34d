#!/usr/bin/env bash
# Session 26 run q3: how much of batch-1 decode is the GEMV consumers' work now (wgmma since
# session 25): QINFER_CUDA_GEMV_BULK_FLAGS=1 (copy only: the consumers wait for and free each
# stage; a measurement, wrong results) against main, 1B and 8B static, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
lat() {  # tag, env...
  tag=$1; shift
  env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
F=QINFER_CUDA_GEMV_BULK_FLAGS
DL=256; tk /tmp/l1b_s; M=/tmp/l1b_s
for r in 1 2; do lat 1b_base_$r; lat 1b_copy_$r $F=1; done
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk8.log
DL=128; tk /tmp/l8b_s; M=/tmp/l8b_s
for r in 1 2; do lat 8b_base_$r; lat 8b_copy_$r $F=1; done
cd $OUT && tar czf all.tgz --remove-files *
