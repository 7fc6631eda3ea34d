tar xJf .gpu_assets/b.txz -C .gpu_assets && tar xJf .gpu_assets/head.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='FusedDecodeCuda.*:FusedCuda.*:LinearCuda.LlamaShapes' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|^\[       OK" $OUT/test_ops.log | head -20
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -20; done
wait; tail -1 $OUT/mk.log
for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
M=/tmp/llama8b_fp8
for d in 0 100; do QINFER_CUDA_GEMV_DYN=$d timeout 60 $B/apps/qinfer generate --model $M --prompt "The capital of France is" --max-tokens 48 --temperature 0 --json > $OUT/gen8b_dyn$d.json 2>$OUT/gen8b_dyn$d.err; done
cmp $OUT/gen8b_dyn0.json $OUT/gen8b_dyn100.json && echo "8B greedy ids equal dyn 0 / 100"
lat() { tag=$1; bin=$2; shift 2; env "$@" timeout 60 $bin bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
H=.gpu_assets/head/qinfer
DL=128
for r in 1 2; do lat 8b_head$r $H X=1; lat 8b_d0_$r $B/apps/qinfer X=1; lat 8b_d100_$r $B/apps/qinfer QINFER_CUDA_GEMV_DYN=100; lat 8b_d50_$r $B/apps/qinfer QINFER_CUDA_GEMV_DYN=50; done
lat 8b_d25 $B/apps/qinfer QINFER_CUDA_GEMV_DYN=25
M=/tmp/llama1b_fp8; DL=256
for r in 1 2; do lat 1b_head$r $H X=1; lat 1b_d0_$r $B/apps/qinfer X=1; lat 1b_d100_$r $B/apps/qinfer QINFER_CUDA_GEMV_DYN=100; lat 1b_r0d0_$r $B/apps/qinfer QINFER_CUDA_GEMV_ROPE=0; lat 1b_r0d100_$r $B/apps/qinfer QINFER_CUDA_GEMV_ROPE=0 QINFER_CUDA_GEMV_DYN=100; done
M=/tmp/llama8b_fp8
for d in 0 100; do CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_d$d.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 QINFER_CUDA_GEMV_DYN=$d timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat_trace_d$d.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace d$d /"; python3 tools/cupti_timeline.py $OUT/trace_d$d.csv --positions > $OUT/timeline_d$d.log 2>&1; head -20 $OUT/timeline_d$d.log; done
cd $OUT && tar czf all.tgz --remove-files *
