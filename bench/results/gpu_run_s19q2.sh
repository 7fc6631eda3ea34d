tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 100 $B/tests/test_ops --gtest_filter='FusedDecodeCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; head -1 $OUT/timeline_$tag.log; sed -n 15,21p $OUT/timeline_$tag.log; rm -f $OUT/trace_$tag.csv; }
A=QINFER_CUDA_L2_AHEAD_QKV; O=QINFER_CUDA_L2_AHEAD_O; ST=QINFER_CUDA_L2_AHEAD_STEP; K=QINFER_CUDA_L2_AHEAD_KEEP
M=/tmp/llama1b_fp8; DL=256; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2; do lat 1b_off$r X=1; lat 1b_q2k_$r $A=2 $K=1; lat 1b_o2_$r $A=0 $O=2; lat 1b_q4k_$r $A=4 $K=1; lat 1b_q1k_$r $A=1 $K=1; done
tr 1b_off X=1
tr 1b_q4 $A=4
tr 1b_q4k $A=4 $K=1
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; DL=128; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2; do lat 8b_off$r X=1; lat 8b_q2k_$r $A=2 $K=1; lat 8b_o1_$r $A=0 $O=1; done
tr 8b_off X=1
tr 8b_q2 $A=2
cd $OUT && tar czf all.tgz --remove-files *
