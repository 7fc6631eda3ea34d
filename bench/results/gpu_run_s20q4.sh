tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1 &
timeout 300 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/test_ops.log | head -8
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1; echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6; done
timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/golden_fixtures.json tests/quant/data/fp8_* > $OUT/golden.log 2>&1; echo "golden rc=$?"; cat $OUT/golden.log
wait; M=/tmp/l1b_s; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 256 --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
for r in 1 2; do lat 1b_s$r X=1; lat 1b_so$r QINFER_CUDA_GEMV_MLP=0; done
python3 -c "
import json;a=json.load(open('$OUT/lat_1b_s1.json'))['decode_tokens_head'];b=json.load(open('$OUT/lat_1b_so1.json'))['decode_tokens_head'];print('same first tokens:',a==b)"
cd $OUT && tar czf all.tgz --remove-files *
