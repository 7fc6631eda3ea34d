tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 150 $B/tests/test_ops --gtest_filter='LinearCuda.*:FusedCuda.PrefillProducers*' > $OUT/test_linear.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|tiles in|Failure" $OUT/test_linear.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -20; done
grep -E "max_abs|rel|greedy" $OUT/test_golden.log | head -20
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
for i in 1 2; do timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 128 --out $OUT/lat8b_p128_$i.json 2>&1 | grep -iE "^decode tok/s|roofline|error" | sed "s/^/8b P128 /"; done
timeout 60 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 --out $OUT/lat1b_p128.json 2>&1 | grep -iE "^decode tok/s|roofline|error" | sed "s/^/1b P128 /"
for G in auto lt; do QINFER_CUDA_FP8_GEMM=$G timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 2048 --decode-len 32 --out $OUT/lat8b_p2048_$G.json 2>&1 | grep -iE "ttft|prefill|error" | sed "s/^/8b P2048 $G /"; done
T="$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for CG in 256:auto 256:lt 512:auto; do C=${CG%%:*}; G=${CG##*:}; QINFER_CUDA_FP8_GEMM=$G timeout 100 $T --max-concurrency $C --out $OUT/tp_c${C}_$G.json 2>&1 | grep -iE "output tok/s|itl|error|preempt" | sed "s/^/C$C $G /"; done
cd $OUT && tar czf all.tgz --remove-files *
