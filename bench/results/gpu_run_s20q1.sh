tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
python3 $MK --out /tmp/tiny_s --tiny --static --reference > $OUT/mk.log 2>&1; echo "tiny rc=$?"; tail -1 $OUT/mk.log
python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static --reference >> $OUT/mk.log 2>&1; echo "1b static rc=$?"
(python3 $MK --out /tmp/l1b_d --shape 1b --layers 16 >> $OUT/mk.log 2>&1; python3 $MK --out /tmp/l8b_s4 --layers 4 --static --reference >> $OUT/mk.log 2>&1; python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; python3 $MK --out /tmp/l8b_d --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6; done
timeout 300 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/quant/data/fp8_* /tmp/l1b_s > $OUT/gpu_golden.log 2>&1; echo "gpu_golden rc=$?"; grep -iE "fail|pass|max|error" $OUT/gpu_golden.log | tail -12
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; head -1 $OUT/timeline_$tag.log; sed -n 2,8p $OUT/timeline_$tag.log; tail -6 $OUT/timeline_$tag.log; rm -f $OUT/trace_$tag.csv; }
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
DL=256; tk /tmp/l1b_s
while [ ! -f /tmp/l1b_d/config.json ]; do sleep 2; done; tk /tmp/l1b_d
for r in 1 2 3; do M=/tmp/l1b_d; lat 1b_d$r X=1; M=/tmp/l1b_s; lat 1b_s$r X=1; lat 1b_so$r QINFER_CUDA_GEMV_MLP=0; done
M=/tmp/l1b_s; tr 1b_s X=1
M=/tmp/l1b_d; tr 1b_d X=1
while ! grep -q mkdone $OUT/mk.log; do sleep 3; done; grep -iE "wrote|error|Traceback" $OUT/mk.log
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_8b4.json /tmp/l8b_s4 > $OUT/gpu_golden_8b4.log 2>&1; echo "gpu_golden 8b4 rc=$?"; tail -5 $OUT/gpu_golden_8b4.log
DL=128; tk /tmp/l8b_s; tk /tmp/l8b_d
for r in 1 2; do M=/tmp/l8b_d; lat 8b_d$r X=1; M=/tmp/l8b_s; lat 8b_s$r X=1; lat 8b_so$r QINFER_CUDA_GEMV_MLP=0; done
cd $OUT && tar czf all.tgz --remove-files *
