tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; head -1 $OUT/timeline_$tag.log; sed -n 3,16p $OUT/timeline_$tag.log; tail -9 $OUT/timeline_$tag.log; gzip $OUT/trace_$tag.csv; }
M=/tmp/llama1b_fp8; DL=256
P=QINFER_CUDA_GEMV_SMEM
for r in 1 2; do lat 1b_base$r X=1; lat 1b_pq$r $P=2048x3072:118400; lat 1b_po$r $P=2048x2048:118400; lat 1b_pg$r $P=2048x16384:118400; lat 1b_pqg$r $P=2048x3072:118400,2048x16384:118400; done
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; DL=128; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
for r in 1 2; do lat 8b_base$r X=1; lat 8b_pq$r $P=4096x6144:116352; lat 8b_po$r $P=4096x4096:116352; done
cd $OUT && tar czf all.tgz --remove-files *
