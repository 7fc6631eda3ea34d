#!/usr/bin/env bash
# Session 35 run q2 (q1 failed: a missing library, and kv_read's check raced the backend stream): what the read pattern of the decode attention allows (bench/kernels/kv_read:
# pieces of 1-8 KV heads a position, against a read-only stream and a D2D copy), and where the
# element-wise kernels' time goes by shape; the decode attention with three 8 KB stages a warp
# (QINFER_CUDA_ATTN_WARP_KB=24, two blocks a multiprocessor) against two (16, three blocks) (8B offline C 512 traced, tools/cupti_sums.py --grid).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 120 $B/bench/kv_read --out $OUT/kv_read.json 2>&1 | tee $OUT/kv_read.log
timeout 60 $B/bench/kv_read --seqs 256 --ctx 1024 --out $OUT/kv_read_256.json 2>&1 | tail -17 | tee $OUT/kv_read_256.log
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
for e in 16 24 16 24; do QINFER_CUDA_ATTN_WARP_KB=$e timeout 60 $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:512x1500 --case F8_E4M3:256x1500 --case F8_E4M3:256x1024 2>&1 | grep -E "^F8" | sed "s/^/kb$e /"; done
off c512 512
off c512w24 512 QINFER_CUDA_ATTN_WARP_KB=24
off c512t 512 $CU QINFER_CUPTI_OUT=/tmp/tr.csv QINFER_STEP_TRACE=$OUT/steps_c512t.csv
echo "elapsed $SECONDS s"
python3 tools/cupti_sums.py /tmp/tr.csv --top 60 --grid 'rms_norm|silu_mul|rope_kv|to_act|prefill_wg|decode_tc|combine' --out $OUT/sums_grid_c512t.json > $OUT/sums_grid_c512t.log 2>&1
python3 tools/cupti_sums.py /tmp/tr.csv --top 40 > $OUT/sums_c512t.log 2>&1
head -80 $OUT/sums_grid_c512t.log
# the raw trace of steps 600-620 (a window of the steady decode), for shapes of every kernel
python3 - <<'PY' > $OUT/window.log 2>&1
import csv
rows=list(csv.DictReader(open('/tmp/tr.csv')))
rows.sort(key=lambda r:int(r['start_ns']))
t0=int(rows[0]['start_ns']); n=len(rows)
mid=rows[int(n*0.6):int(n*0.6)+400]
for r in mid: print(int(r['start_ns'])-t0, int(r['end_ns'])-int(r['start_ns']), r['grid_x'], r['block_x'], r['name'][:90])
PY
gzip -c $OUT/steps_c512t.csv > $OUT/steps_c512t.csv.gz; rm -f $OUT/steps_c512t.csv
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
