#!/usr/bin/env bash
# Session 35 run q7: the prefill attention writes o's FP8 codes (attention_prefill_codes, the
# warpgroup kernel) and the mixed steps' decode rows theirs, so prefill and mixed steps run no
# to_act (QINFER_CUDA_PREFILL_CODES=0: to_act after them, as before). Attention op tests (the
# new CudaAttention.PrefillCodesAreToActsOfItsOutput), engine and golden CUDA tests; 8B offline
# C 512 new / old alternated.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
(python3 tools/gpu_make_random_fp8.py --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
QINFER_SOURCE_DIR=$PWD timeout 240 $B/tests/test_ops --gtest_filter='CudaAttention.Prefill*:CudaAttentionTc.*:FusedCuda.*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED|SKIPPED)|FAILED  \]|SKIPPED \]" $OUT/test_ops.log | head -8; grep -A8 "Failure" $OUT/test_ops.log | head -20
for t in test_engine test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/$t.log | head -6; grep -A8 "Failure" $OUT/$t.log | head -20
done
echo "elapsed $SECONDS s"
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
OLD="QINFER_CUDA_PREFILL_CODES=0"
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|preempt|error" | head -4 | sed "s/^/$tag /"; }
off new1 512; off old1 512 $OLD; off new2 512; off old2 512 $OLD
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
