#!/usr/bin/env bash
# Session 24 run q11: is copy-only's 10 % (q9, q10) the consumers' work or the clock (fewer tensor
# core instructions, less power)? nvidia-smi samples SM / memory clocks, power and the throttle
# reasons every 100 ms while main's binary decodes (8B static, batch 1, 512 tokens), base and
# copy only.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk8.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
for f in 0 1 0 1; do
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,clocks_throttle_reasons.active \
    --format=csv,noheader -lms 100 > $OUT/smi_f$f.csv 2>&1 &
  P=$!
  env QINFER_CUDA_GEMV_BULK_FLAGS=$f timeout 60 $B/apps/qinfer_old bench --model /tmp/l8b_s \
    --prompt-len 128 --decode-len 512 --out $OUT/lat_f$f.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/flags=$f /"
  kill $P; wait $P 2>/dev/null
  python3 - $OUT/smi_f$f.csv <<'PY'
import sys, statistics
rows = [l.strip().split(", ") for l in open(sys.argv[1]) if l.count(",") >= 4]
sm = [float(r[1].split()[0]) for r in rows]; pw = [float(r[3].split()[0]) for r in rows]
busy = [i for i, p in enumerate(pw) if p > min(pw) + 0.5 * (max(pw) - min(pw))]
print("  samples %d, busy %d: SM MHz median %.0f (min %.0f), power W median %.0f (max %.0f), throttle %s" % (
    len(rows), len(busy), statistics.median([sm[i] for i in busy]), min(sm[i] for i in busy),
    statistics.median([pw[i] for i in busy]), max(pw), sorted({rows[i][4] for i in busy})))
PY
done
cd $OUT && tar czf all.tgz --remove-files *
