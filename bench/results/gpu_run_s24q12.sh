#!/usr/bin/env bash
# Session 24 run q12: which part of the consumers' per-stage work costs (q9-q11)? A measurement
# binary (main's gemv_bulk with gpu_s24q12_flags.patch): flag 32 keeps the shared-memory loads and
# drops the MMAs, flag 64 keeps the MMAs on register values and drops the loads, flag 1 copy only
# (wrong results in all three). 8B static batch 1, alternating.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk8.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
for r in 1 2; do for f in 0 32 64 1; do
  env QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 60 $B/apps/qinfer_m bench --model /tmp/l8b_s --prompt-len 128 \
    --decode-len 128 --out $OUT/lat_f${f}_$r.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/flags=$f /"
done; done
cd $OUT && tar czf all.tgz --remove-files *
