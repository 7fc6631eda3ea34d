#!/usr/bin/env bash
# Session 32 run q4: FP8 pairs on a deeper pipeline (QINFER_CUDA_ATTN_PAIR_STAGES=3: three 8 KB
# stages a warp, two blocks a multiprocessor) against the default two stages: attention op
# tests under both, the decode table at batches 128-256, Nsight Compute at 256 x 1,500, and the
# 8B offline (FP8 KV) at C 256 / C 512 both ways.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
X=QINFER_CUDA_ATTN_PAIR_STAGES
for v in 3 2; do env $X=$v timeout 200 $B/tests/test_ops --gtest_filter='*Attention*' > $OUT/test_ops_$v.log 2>&1
echo "test_ops stages=$v rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops_$v.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops_$v.log | head -20; done
C="--case F8_E4M3:256x1500 --case F8_E4M3:256x1024 --case F8_E4M3:128x1500 --case F8_E4M3:128x8192"
for v in 3 2 3 2; do env $X=$v $B/bench/gpu_attention --decode-only --tc-only $C --out $OUT/attn_st$v.json 2>&1 | grep -E "^F8" | sed "s/^/stages=$v /"; done
NCU=$(command -v ncu || find / -name ncu -type f -perm -u+x -not -path '/proc/*' 2>/dev/null | head -1)
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy"
env $X=3 timeout 120 $NCU --clock-control none -k regex:decode_tc_kernel --launch-skip 3 -c 1 $S --metrics smsp__inst_executed.sum,dram__bytes_read.sum $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 > $OUT/ncu_fp8_hp2_st3.txt 2>&1
grep -hE "Duration|DRAM Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|inst_executed.sum |Registers Per" $OUT/ncu_fp8_hp2_st3.txt
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off c256_st3 256 $X=3; off c256_st2 256 $X=2
off c512_st3 512 $X=3; off c512_st2 512 $X=2
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
