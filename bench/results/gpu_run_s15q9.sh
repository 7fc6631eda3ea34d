tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 > $OUT/mk.log 2>&1
(python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
for M in /tmp/llama1b_fp8; do gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/; done
grep -o '"max_position_embeddings": [0-9]*\|"rope_scaling": {[^}]*}' /tmp/llama1b_fp8/config.json
lc() { tag=$1; P=$2; D=$3; kv=$4; timeout 200 $B/apps/qinfer bench --model $M --prompt-len $P --decode-len $D --kv-cache-dtype $kv --out $OUT/${tag}_p${P}_$kv.json 2>&1 | grep -iE "prefill ms \(TTFT\)|prefill ratio|decode tok/s|decode ratio|error" | sed "s/^/$tag P$P $kv /"; }
M=/tmp/llama1b_fp8
lc 1b 131072 64 fp8; lc 1b 131072 64 bf16; lc 1b 32768 64 fp8
wait; tail -1 $OUT/mk.log
M=/tmp/llama8b_fp8; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
lc 8b 32768 64 bf16; lc 8b 32768 64 fp8; lc 8b 131072 32 fp8
cd $OUT && tar czf all.tgz --remove-files *
