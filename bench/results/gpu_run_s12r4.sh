tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
TEST_FILTER='CudaAttention*' TEST_TIMEOUT=300 bash tools/gpu_run_all.sh 1e3b > $OUT/run_all.log 2>&1
grep -E "^\[  (PASSED|FAILED) |FAILED  \]|tests? ran|max_abs|rel|greedy|ok|FAIL" $OUT/run_all.log | grep -v "^\[       OK" | head -60
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
for i in 1 2; do
timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 128 --out $OUT/lat8b_p128_$i.json 2>&1 | grep -iE "^decode tok/s|roofline|error" | sed "s/^/8b P128 /"
timeout 60 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 --out $OUT/lat1b_p128_$i.json 2>&1 | grep -iE "^decode tok/s|roofline|error" | sed "s/^/1b P128 /"
done
timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 1024 --decode-len 128 --out $OUT/lat8b_p1024.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/8b P1024 /"
timeout 60 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 2048 --decode-len 32 --out $OUT/lat8b_p2048.json 2>&1 | grep -iE "ttft|prefill|error" | sed "s/^/8b P2048 /"
T="$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
for C in 256 512; do timeout 150 $T --max-concurrency $C --out $OUT/tp_c$C.json 2>&1 | grep -iE "tok/s|itl|error|preempt" | sed "s/^/C$C /"; done
cd $OUT && tar czf all.tgz --remove-files *
