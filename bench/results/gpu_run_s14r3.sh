tar xJf .gpu_assets/head.txz -C .gpu_assets && tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='FusedDecodeCuda.*:FusedCuda.LinearFromF32*:FusedCuda.MlpFromF32*:FusedCuda.BulkGemv*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|differs|written" $OUT/test_ops.log | head -30
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -20; done
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lat() { tag=$1; shift; env "$@" timeout 60 $BIN bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
BIN=$B/apps/qinfer
M=/tmp/llama8b_fp8; DL=128
for r in 1 2; do
lat 8b_base$r QINFER_CUDA_GEMV_ROPE=0
lat 8b_rope$r X=1
[ -x .gpu_assets/head/qinfer ] && BIN=.gpu_assets/head/qinfer lat 8b_head$r X=1
done
M=/tmp/llama1b_fp8; DL=256
for r in 1 2; do
lat 1b_base$r QINFER_CUDA_GEMV_ROPE=0
lat 1b_rope$r X=1
[ -x .gpu_assets/head/qinfer ] && BIN=.gpu_assets/head/qinfer lat 1b_head$r X=1
done
INJ="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so"
M=/tmp/llama8b_fp8
for V in rope; do
E=X=1
env $INJ $E QINFER_CUPTI_OUT=/tmp/trace_$V.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 timeout 100 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat_8b_traced_$V.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/traced $V /"
python3 tools/cupti_timeline.py /tmp/trace_$V.csv --positions --out $OUT/timeline_8b_b1_$V.json > $OUT/timeline_8b_b1_$V.log 2>&1; sed -n 1,22p $OUT/timeline_8b_b1_$V.log
done
cd $OUT && tar czf all.tgz --remove-files *
