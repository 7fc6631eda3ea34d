#!/usr/bin/env bash
# Session 34 run q1: where the offline run's GPU waits on the host, and cuBLASLt without
# workspace. 8B offline C 512: untraced; with QINFER_CUDA_LT_WORKSPACE_KB=0 (cuBLASLt's
# heuristic asked for algorithms without workspace: no 4-byte memsets before its GEMMs?);
# traced with the GPU records, the runtime API records (QINFER_CUPTI_API) and the engine's
# step trace (QINFER_STEP_TRACE), joined by tools/step_gaps.py.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
CU="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=4000000"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 150 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off c512 512
off c512ws0 512 QINFER_CUDA_LT_WORKSPACE_KB=0
off c512t 512 $CU QINFER_CUPTI_OUT=/tmp/tr.csv QINFER_CUPTI_API=/tmp/api.csv QINFER_STEP_TRACE=$OUT/steps_c512t.csv
echo "elapsed $SECONDS s"
python3 tools/step_gaps.py /tmp/tr.csv $OUT/steps_c512t.csv --api /tmp/api.csv --min-us 200 --top 30 --out $OUT/stepgaps_c512t.json 2>&1 | tee $OUT/stepgaps_c512t.log
python3 tools/cupti_gaps.py /tmp/tr.csv --top 20 --out $OUT/gaps_c512t.json > $OUT/gaps_c512t.log 2>&1
gzip -c /tmp/api.csv | head -c 30000000 > $OUT/api_c512t.csv.gz
echo "elapsed $SECONDS s"
[ $SECONDS -lt 480 ] && off c512ws0b 512 QINFER_CUDA_LT_WORKSPACE_KB=0
[ $SECONDS -lt 540 ] && off c512b 512
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
