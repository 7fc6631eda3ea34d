tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.limit --format=csv > $OUT/smi.txt 2>&1
[ -f /tmp/l8b_s/config.json ] || (time python3 $MK --out /tmp/l8b_s --layers 32 --static) > $OUT/mk.log 2>&1
tail -2 $OUT/mk.log
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l8b_s; M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
offt() { tag=$1; c=$2; shift 2; off $tag $c $CU QINFER_CUPTI_OUT=/tmp/tr_$tag.csv "$@"; python3 tools/cupti_sums.py /tmp/tr_$tag.csv --top 22 --out $OUT/sums_$tag.json > $OUT/sums_$tag.log 2>&1; cat $OUT/sums_$tag.log; rm -f /tmp/tr_$tag.csv; }
offt c256t 256 X=1
off c256 256 X=1
off c512 512 X=1
offt c512t 512 X=1
cd $OUT && tar czf all.tgz --remove-files *
