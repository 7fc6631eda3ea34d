#!/usr/bin/env bash
# Session 27 run q2: a decode graph slot's two graphs over two metadata buffers, each step's
# metadata copied on a side stream while the step before runs (cu::SideUpload), against
# QINFER_CUDA_META_SIDE=0 (one buffer, copied on the backend stream between steps) in the same
# binary, and session 26's binary; the sampler's results through a copy on the stream instead
# of mapped memory (QINFER_CUDA_SAMPLE_MAPPED=0). Golden and engine CUDA tests (their decode
# steps replay both graphs of a slot), GEMV op tests; a CUPTI timeline of the 1B (what runs
# between two replays).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l1b_s --shape 1b --layers 16 --static > $OUT/mk.log 2>&1
 python3 $MK --out /tmp/l8b_s --layers 32 --static >> $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer; mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
for t in test_golden test_engine; do
  QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout 200 $B/tests/$t --gtest_filter='*Cuda*' > $OUT/$t.log 2>&1
  echo "$t rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]|Failure" $OUT/$t.log | head -6
done
timeout 240 $B/tests/test_ops --gtest_filter='FusedCuda.*:FusedDecodeCuda.*:LinearCuda.MatchesCpu*:LinearCuda.LlamaShapes' \
  > $OUT/test_ops.log 2>&1; echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -3
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
for m in l8b_s l1b_s; do gunzip -c $B/tok/tokenizer.json.gz > /tmp/$m/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/$m/; done
lat() {  # tag, binary, env...
  tag=$1; bin=$2; shift 2
  env "$@" timeout 60 $B/apps/$bin bench --model $M --prompt-len 128 --decode-len $DL \
    --out $OUT/lat_$tag.json 2>&1 | grep -iE "^decode tok/s|error" | head -3 | sed "s/^/$tag /"
}
tr() {  # tag, env...
  tag=$1; shift
  env CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_$tag.csv \
    QINFER_CUPTI_SKIP=0 QINFER_CUPTI_MAX=3000000 "$@" timeout 90 $B/apps/qinfer bench --model $M \
    --prompt-len 128 --decode-len $DL --out $OUT/lat_trace_$tag.json 2>&1 |
    grep -iE "^decode tok/s|error" | sed "s/^/trace $tag /"
  python3 tools/cupti_timeline.py $OUT/trace_$tag.csv --positions > $OUT/timeline_$tag.log 2>&1
  head -1 $OUT/timeline_$tag.log; grep -A5 "^between steps" $OUT/timeline_$tag.log
  rm -f $OUT/trace_$tag.csv
}
M=/tmp/l1b_s; DL=256
for r in 1 2 3; do lat 1b_side_$r qinfer; lat 1b_stream_$r qinfer QINFER_CUDA_META_SIDE=0; lat 1b_s26_$r qinfer_s26; done
lat 1b_side_unmapped qinfer QINFER_CUDA_SAMPLE_MAPPED=0
tr 1b_side; tr 1b_stream QINFER_CUDA_META_SIDE=0
M=/tmp/l8b_s; DL=128
for r in 1 2; do lat 8b_side_$r qinfer; lat 8b_stream_$r qinfer QINFER_CUDA_META_SIDE=0; done
cd $OUT && tar czf all.tgz --remove-files *
