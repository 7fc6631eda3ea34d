#!/usr/bin/env bash
# Session 24 run q9: does the per-multiprocessor order of the weight streams' ends (q4: SMs 78-83
# and 34-39 first, 19-21, 60, 64-69, ... last) persist when the GEMVs only stream (gemv_bulk flag
# 1, copy only: the consumers wait for and free the stages, no MMAs; wrong results)? Probed 8B
# (the q3 measurement build), its --sm-ranks for gate_up and down, and tok/s of main's binary
# with and without the flag.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk8.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
for f in 0 1; do
  env QINFER_CUDA_GEMV_BULK_FLAGS=$f QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=$OUT/probe_f$f.bin \
    timeout 60 $B/apps/qinfer_probe bench --model $M --prompt-len 128 --decode-len 64 \
    --out $OUT/lat_probe_f$f.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/probe flags=$f /"
  for pos in 3 4 0; do python3 tools/probe_phases.py $OUT/probe_f$f.bin --sm-ranks $pos; done > $OUT/smranks_f$f.log 2>&1
  python3 tools/probe_phases.py $OUT/probe_f$f.bin > $OUT/phases_f$f.log 2>&1
  echo "== flags=$f"; cat $OUT/smranks_f$f.log; tail -5 $OUT/phases_f$f.log | cut -c1-160
  xz -T4 -1 $OUT/probe_f$f.bin
done
for r in 1 2; do for f in 0 1; do
  env QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 60 $B/apps/qinfer_old bench --model $M --prompt-len 128 \
    --decode-len 128 --out $OUT/lat_f${f}_$r.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/flags=$f /"
done; done
cd $OUT && tar czf all.tgz --remove-files *
