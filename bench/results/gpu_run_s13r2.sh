tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedCuda.*' > $OUT/test_linear.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|tiles in|Failure" $OUT/test_linear.log | head -20
QINFER_SOURCE_DIR=$PWD timeout 200 $B/tests/test_golden --gtest_filter='LlamaGoldenCuda.*' > $OUT/test_golden.log 2>&1; echo "test_golden rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_golden.log | head -20
timeout 200 $B/bench/gpu_gemm --out $OUT/gpu_gemm.json > $OUT/gpu_gemm.log 2>&1; echo "gemm rc=$?"; cat $OUT/gpu_gemm.log
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
T="$B/apps/qinfer bench --model $M --mode throughput --num-prompts 128 --input-len 1000 --output-len 500 --kv-cache-dtype fp8 --max-concurrency 64"
for G in lt auto lt auto; do QINFER_CUDA_FP8_GEMM=$G timeout 100 $T --out $OUT/tp_c64_$G.json 2>&1 | grep -iE "output tok/s|itl|error" | sed "s/^/C64 $G /"; done
INJ="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so"
env $INJ QINFER_CUPTI_OUT=/tmp/trace_c256.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 timeout 200 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --max-concurrency 256 --kv-cache-dtype fp8 --out $OUT/tp_c256_traced.json 2>&1 | grep -iE "output tok/s|itl|error|cupti" | sed "s/^/C256 traced /"
ls -la /tmp/trace_c256.csv
python3 tools/cupti_timeline.py /tmp/trace_c256.csv --positions --out $OUT/timeline_8b_c256.json > $OUT/timeline_8b_c256.log 2>&1; tail -40 $OUT/timeline_8b_c256.log
python3 - <<'PY' > $OUT/kernel_sums_c256.log 2>&1
import csv, collections, sys
sys.path.insert(0, 'tools'); from cupti_timeline import short_name
tot = collections.defaultdict(lambda: [0, 0.0]); g_tot = collections.defaultdict(lambda: [0, 0.0])
t0 = None; t1 = 0; busy = 0.0; last_end = 0
rows = []
with open('/tmp/trace_c256.csv', newline='') as f:
    for r in csv.DictReader(f):
        rows.append((int(r['start_ns']), int(r['end_ns']), int(r['graph_id']), r['name']))
rows.sort()
for s, e, g, n in rows:
    t0 = s if t0 is None else t0; t1 = max(t1, e)
    if e > last_end: busy += (e - max(s, last_end)); last_end = e
    d = (tot if g == 0 else g_tot)[short_name(n)]; d[0] += 1; d[1] += (e - s) / 1e6
print(f"span {(t1 - t0) / 1e9:.2f} s, GPU busy (union of kernels) {busy / 1e9:.2f} s")
for label, d in (("eager (prefill / mixed steps)", tot), ("graphs (decode)", g_tot)):
    print(f"\n{label}: {sum(v[1] for v in d.values()) / 1e3:.2f} s summed durations")
    for k, v in sorted(d.items(), key=lambda kv: -kv[1][1])[:22]:
        print(f"  {k:48s} {v[0]:9d} {v[1]:10.1f} ms")
PY
cat $OUT/kernel_sums_c256.log
gzip -c /tmp/trace_c256.csv | head -c 60000000 > $OUT/trace_c256.csv.gz
cd $OUT && tar czf all.tgz --remove-files *
