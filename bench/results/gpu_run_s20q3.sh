tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
[ -f /tmp/l8b_d/config.json ] && echo "warm: checkpoints kept"
[ -f /tmp/l8b_s/config.json ] || python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1 &
[ -f /tmp/l8b_d/config.json ] || python3 $MK --out /tmp/l8b_d --layers 32 >> $OUT/mk.log 2>&1
wait
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
tk /tmp/l8b_s; tk /tmp/l8b_d
off() { tag=$1; shift; env "$@" timeout 200 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256 --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|error" | head -3 | sed "s/^/$tag /"; }
M=/tmp/l8b_s; off c256_s X=1
M=/tmp/l8b_d; off c256_d X=1
cd $OUT && tar czf all.tgz --remove-files *
