tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
[ -f /tmp/l8b_s/config.json ] && echo "warm: checkpoint kept"
[ -f /tmp/l8b_s/config.json ] || python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1 &
timeout 300 $B/tests/test_ops --gtest_filter='FusedCuda.*:LinearCuda.*:FusedDecodeCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6; done
wait
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l8b_s; M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"; }
offt() { tag=$1; c=$2; shift 2; off $tag $c $CU QINFER_CUPTI_OUT=/tmp/tr_$tag.csv "$@"; python3 tools/cupti_sums.py /tmp/tr_$tag.csv --top 12 --out $OUT/sums_$tag.json > $OUT/sums_$tag.log 2>&1; head -16 $OUT/sums_$tag.log; grep -E "silu|to_act" $OUT/sums_$tag.log; rm -f /tmp/tr_$tag.csv; }
off flat1 256 X=1
off row1 256 QINFER_CUDA_FLAT_STATIC=0
off flat2 256 X=1
off row2 256 QINFER_CUDA_FLAT_STATIC=0
offt flatt 256 X=1
cd $OUT && tar czf all.tgz --remove-files *
