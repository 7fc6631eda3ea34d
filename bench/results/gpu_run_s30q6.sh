#!/usr/bin/env bash
# Session 30 run q6: the review clean-up (o's activation form prepared once a layer, before the
# attention; behaviour unchanged). Golden CUDA tests (engine paths included); 1B static batch 1 and 1B
# throughput at concurrency 8 (the attention's codes path).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1 &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
wait
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l1b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l1b_s/
for r in 1 2; do timeout 60 $B/apps/qinfer bench --model /tmp/l1b_s --prompt-len 128 --decode-len 256 \
  --out $OUT/lat_1b_$r.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/1b_$r /"; done
timeout 120 $B/apps/qinfer bench --model /tmp/l1b_s --mode throughput --num-prompts 32 --input-len 128 \
  --output-len 256 --max-concurrency 8 --out $OUT/thr_1b_c8.json 2>&1 | grep -iE "output tok/s|mean ITL|error"
cd $OUT && tar czf all.tgz --remove-files *
