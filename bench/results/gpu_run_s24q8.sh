#!/usr/bin/env bash
# Session 24 run q8: are the decode GEMVs' first passes through their code (q3: the 8B o's first
# tile 2.6 us after x was made though its ring was full 4 us before the release; its second
# tile 0.8 us) instruction-cache misses? Nsight Compute's warp stall reasons per issued
# instruction for five consecutive gemv_bulk launches of a batch-1 decode step (main's binary,
# caches and clocks left as they are), 1B then 8B static.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
NCU=$(command -v ncu || find / -name ncu -type f -perm -u+x -not -path '/proc/*' 2>/dev/null | head -1)
echo "ncu: $NCU"; [ -n "$NCU" ] || exit 0
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
(python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk8.log 2>&1; echo mkdone >> $OUT/mk8.log) &
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
prof() {  # tag, model, skip
  tag=$1; m=$2; skip=$3
  timeout 200 $NCU --cache-control none --clock-control none --kernel-name regex:'gemv_bulk|decode_tc' \
    --launch-skip $skip --launch-count 6 \
    --metrics 'regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,gpu__time_duration.sum,smsp__inst_executed.sum' \
    $B/apps/qinfer_old bench --model $m --prompt-len 128 --decode-len 24 --out $OUT/lat_ncu_$tag.json \
    > $OUT/ncu_$tag.log 2>&1
  echo "ncu $tag rc=$?"
  python3 - $OUT/ncu_$tag.log <<'PY'
import re, sys
cur = None; rows = []
for line in open(sys.argv[1]):
    m = re.match(r'\s+(\S+kernel\S*)\s*\(', line) or re.match(r'\s+(gemv_bulk_kernel|decode_tc_kernel)', line)
    if m: cur = {"k": m.group(1)[:24]}; rows.append(cur); continue
    m = re.match(r'\s+(smsp__average_warps_issue_stalled_(\w+)_per_issue_active\.ratio|gpu__time_duration\.sum|smsp__inst_executed\.sum)\s+(\S+)\s+([\d.,]+)', line)
    if m and cur is not None:
        name = m.group(2) or m.group(1).split('__')[1].split('.')[0]
        cur[name] = float(m.group(4).replace(',', ''))
for r in rows:
    top = sorted(((v, k) for k, v in r.items() if k not in ("k", "time_duration", "inst_executed") and v > 0.05), reverse=True)[:7]
    print(r["k"], "time", r.get("time_duration"), "inst", r.get("inst_executed"), " | ", " ".join("%s %.2f" % (k, v) for v, k in top))
PY
}
tk /tmp/l1b_s; prof 1b /tmp/l1b_s 400
while ! grep -q mkdone $OUT/mk8.log; do sleep 3; done
tk /tmp/l8b_s; prof 8b /tmp/l8b_s 800
cd $OUT && tar czf all.tgz --remove-files *
