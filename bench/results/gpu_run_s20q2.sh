tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
[ -f /tmp/l1b_s/config.json ] && echo "warm: checkpoints kept"
[ -f /tmp/l1b_s/config.json ] || python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static --reference > $OUT/mk.log 2>&1
([ -f /tmp/l8b_d/config.json ] || { python3 $MK --out /tmp/l8b_s4 --layers 4 --static --reference; python3 $MK --out /tmp/l8b_s --layers 32 --static; python3 $MK --out /tmp/l8b_d --layers 32; } >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
gg() { tag=$1; shift; env "$@" timeout 200 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/golden_$tag.json $G > $OUT/golden_$tag.log 2>&1; echo "golden $tag rc=$?"; grep -vE "^checkpoint" $OUT/golden_$tag.log | tail -3; python3 -c "
import json;r=json.load(open('$OUT/golden_$tag.json'))['results'][-1];print('  greedy',r['gpu_greedy'],'gpu~cpu %.6g gpu~hf %.6g batched~alone %s'%(r['gpu_vs_cpu_rel_max_diff'],r['gpu_vs_transformers_rel_max_diff'],r['batched_vs_alone_rel_max_diff']))"; }
G="tests/quant/data/fp8_w_channel_a_static tests/quant/data/fp8_w_tensor_a_static /tmp/l1b_s"; gg 1b_s X=1; gg 1b_so QINFER_CUDA_GEMV_MLP=0
while ! grep -q mkdone $OUT/mk.log; do sleep 3; done; grep -iE "error|Traceback" $OUT/mk.log
G=/tmp/l8b_s4; gg 8b4_s X=1; gg 8b4_so QINFER_CUDA_GEMV_MLP=0
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len ${PL:-128} --decode-len $DL --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|^prefill|ttft|error" | sed "s/^/$tag /"; }
tr() { tag=$1; shift; env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"; python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1; head -1 $OUT/timeline_$tag.log; tail -6 $OUT/timeline_$tag.log; rm -f $OUT/trace_$tag.csv; }
tk() { gunzip -c $B/tok/tokenizer.json.gz > $1/tokenizer.json; cp $B/tok/tokenizer_config.json $1/; }
DL=128; tk /tmp/l8b_s; tk /tmp/l8b_d
for r in 1 2 3; do M=/tmp/l8b_d; lat 8b_d$r X=1; M=/tmp/l8b_s; lat 8b_s$r X=1; lat 8b_so$r QINFER_CUDA_GEMV_MLP=0; done
M=/tmp/l8b_s; tr 8b_s X=1
PL=2048; DL=16; for r in 1 2; do M=/tmp/l8b_d; lat 8b_p2048_d$r X=1; M=/tmp/l8b_s; lat 8b_p2048_s$r X=1; done
cd $OUT && tar czf all.tgz --remove-files *
