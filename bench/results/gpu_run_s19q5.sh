tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 300 $B/tests/test_ops --gtest_filter='CudaAttention*:FusedCuda.*:FusedDecodeCuda.*:LinearCuda.*:OpsCuda*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL $XA --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; head -1 $OUT/timeline_$tag.log; sed -n 2,6p $OUT/timeline_$tag.log; rm -f $OUT/trace_$tag.csv; }
E=QINFER_CUDA_EMBED_TRIGGER; XA=
M=/tmp/llama1b_fp8; DL=256; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2 3; do lat 1b_trig$r X=1; lat 1b_end$r $E=0; done
tr 1b_trig X=1
tr 1b_end $E=0
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; DL=128; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2 3; do lat 8b_trig$r X=1; lat 8b_end$r $E=0; done
timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256 --out $OUT/offline_c256.json 2>&1 | grep -iE "output tok/s|error|throughput" | head -5
cd $OUT && tar czf all.tgz --remove-files *
