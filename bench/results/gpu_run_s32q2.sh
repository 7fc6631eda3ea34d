#!/usr/bin/env bash
# Session 32 run q2: the tensor-core decode attention's copies of a whole tile from one address
# computation (QINFER_CUDA_ATTN_FAST_ROWS, 1 = new, 0 = the per-row path): attention op tests,
# the decode table both ways, Nsight Compute on the FP8 pair kernel at batch 256 x 1,500 keys,
# and the 8B offline 512 x 1000/1000 (FP8 KV) at C 256 and C 512 both ways.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
MK=tools/gpu_make_random_fp8.py
(python3 $MK --out /tmp/l8b_s --layers 32 --static > $OUT/mk.log 2>&1; echo mkdone >> $OUT/mk.log) &
timeout 200 $B/tests/test_ops --gtest_filter='*Attention*' > $OUT/test_ops.log 2>&1
echo "test_ops rc=$?"; grep -E "^\[  (PASSED|FAILED)|FAILED  \]" $OUT/test_ops.log | head -8; grep -B2 -A8 "Failure" $OUT/test_ops.log | head -30
X=QINFER_CUDA_ATTN_FAST_ROWS
for v in 1 0; do env $X=$v $B/bench/gpu_attention --decode-only --out $OUT/attn_fr$v.json > $OUT/attn_fr$v.log 2>&1; grep -E "^(BF16|F8_E4M3) " $OUT/attn_fr$v.log | sed "s/^/fr$v /"; done
NCU=$(command -v ncu || find / -name ncu -type f -perm -u+x -not -path '/proc/*' 2>/dev/null | head -1)
S="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy"
timeout 120 $NCU --clock-control none -k regex:decode_tc_kernel --launch-skip 3 -c 1 $S --metrics smsp__inst_executed.sum,dram__bytes_read.sum $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 > $OUT/ncu_fp8_hp2_fr1.txt 2>&1
grep -hE "Duration|DRAM Throughput|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|inst_executed.sum " $OUT/ncu_fp8_hp2_fr1.txt
while ! grep -q mkdone $OUT/mk.log; do sleep 2; done
gunzip -c $B/tok/tokenizer.json.gz > /tmp/l8b_s/tokenizer.json; cp $B/tok/tokenizer_config.json /tmp/l8b_s/
M=/tmp/l8b_s
off() { tag=$1; c=$2; shift 2; env "$@" timeout 100 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency $c --out $OUT/offline_$tag.json 2>&1 | grep -iE "output tok/s|itl|error" | head -4 | sed "s/^/$tag /"; }
echo "elapsed $SECONDS s"
off c256_fr1 256; off c256_fr0 256 $X=0
off c512_fr1 512; off c512_fr0 512 $X=0
echo "elapsed $SECONDS s"
[ $SECONDS -lt 470 ] && off c512_fr1b 512
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
