tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
[ -f /tmp/l8b_s/config.json ] && echo "warm: checkpoint kept"
[ -f /tmp/l8b_s/config.json ] || python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1 &
timeout 200 $B/tests/test_ops --gtest_filter='LinearCuda.*' > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure|tiles in" $OUT/test_ops.log | head -8
timeout 200 $B/bench/gpu_gemm --n 128,256,320,512,2048 --out $OUT/gpu_gemm.json > $OUT/gpu_gemm.log 2>&1; echo "gpu_gemm rc=$?"; cat $OUT/gpu_gemm.log | cut -c1-250
wait
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l8b_s; M=/tmp/l8b_s
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"; }
off base 256 X=1
off c4 256 QINFER_CUDA_FP8_GEMM_SWAP=128x64=128x64c4
off n2 256 QINFER_CUDA_FP8_GEMM_SWAP=128x64=128x64n2
off m2 256 QINFER_CUDA_FP8_GEMM_SWAP=128x64=128x64m2
off g2 256 QINFER_CUDA_FP8_GEMM_SWAP=128x224=128x224m2
off base2 256 X=1
cd $OUT && tar czf all.tgz --remove-files *
