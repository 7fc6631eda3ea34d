tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_CUDA_GEMV_WHOLE_KB=256 QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/test_golden --gtest_filter='*Cuda*' > $OUT/test_golden.log 2>&1; echo "golden (whole 256) rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_golden.log | head
QINFER_CUDA_GEMV_WHOLE_KB=256 timeout 200 $B/tests/test_ops --gtest_filter='FusedDecodeCuda.*:FusedCuda.BulkGemv*:FusedCuda.LinearFromF32*:FusedCuda.MlpFromF32*:LinearCuda.LlamaShapes' > $OUT/test_ops.log 2>&1; echo "test_ops (whole 256) rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
M=/tmp/llama8b_fp8
for w in 0 256; do QINFER_CUDA_GEMV_WHOLE_KB=$w timeout 60 $B/apps/qinfer generate --model $M --prompt "The capital of France is" --max-tokens 48 --temperature 0 --json > $OUT/gen8b_w$w.json 2>$OUT/gen8b_w$w.err; done
cmp $OUT/gen8b_w0.json $OUT/gen8b_w256.json && echo "8B greedy ids equal whole 0 / 256"
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
DL=128
for r in 1 2; do lat 8b_w0_$r X=1; lat 8b_w140_$r QINFER_CUDA_GEMV_WHOLE_KB=140; lat 8b_w200_$r QINFER_CUDA_GEMV_WHOLE_KB=200; done
lat 8b_w200_bulk192_$r QINFER_CUDA_GEMV_WHOLE_KB=200 QINFER_CUDA_GEMV_SMALL_RING_KB=100
M=/tmp/llama1b_fp8; DL=256
for r in 1 2; do lat 1b_w0_$r X=1; lat 1b_w140_$r QINFER_CUDA_GEMV_WHOLE_KB=140; done
M=/tmp/llama8b_fp8
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; sed -n 1,2p $OUT/timeline_$tag.log; sed -n 33,40p $OUT/timeline_$tag.log; rm $OUT/trace_$tag.csv; }
tr w0 X=1; tr w200 QINFER_CUDA_GEMV_WHOLE_KB=200; tr w140 QINFER_CUDA_GEMV_WHOLE_KB=140
cd $OUT && tar czf all.tgz --remove-files *
