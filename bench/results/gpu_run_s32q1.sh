#!/usr/bin/env bash
# Session 32 run q1: where the FP8 decode attention's time goes at the offline shape (8B heads,
# batch 256, 1,500 keys): the decode table at batch 256, then Nsight Compute on the tensor-core
# kernel for the FP8 cache (pairs of KV heads, the default there; one head a unit) and the
# BF16 cache (which reaches the copy rate).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
C="--case F8_E4M3:256x1500 --case BF16:256x1500 --case F8_E4M3:256x1024 --case F8_E4M3:128x8192 --case BF16:128x8192"
$B/bench/gpu_attention --decode-only $C --out $OUT/attn.json 2>&1 | tail -9
QINFER_CUDA_ATTN_PAIR_MIN_TOK=0 $B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 --case F8_E4M3:256x1024 --out $OUT/attn_hp1.json 2>&1 | tail -3 | sed "s/^/hp1 /"
NCU=$(command -v ncu || find / -name ncu -type f -perm -u+x -not -path '/proc/*' 2>/dev/null | head -1)
echo "ncu: $NCU"
M="regex:sm__inst_executed_pipe_.*\.avg\.pct_of_peak_sustained_active$,regex:sm__pipe_.*_cycles_active\.avg\.pct_of_peak_sustained_active$,dram__bytes_read.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__inst_executed.sum,smsp__cycles_active.avg,lts__t_sectors_srcunit_tex_op_read.sum,sm__warps_active.avg.pct_of_peak_sustained_active"
S="--section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats --section InstructionStats"
prof() { tag=$1; shift; env "$@" timeout 150 $NCU --clock-control none -k regex:decode_tc_kernel --launch-skip 3 -c 1 $S --metrics "$M" $B/bench/gpu_attention --decode-only --tc-only --case $CASE > $OUT/ncu_$tag.txt 2>&1; echo "ncu $tag rc=$?"; }
CASE=F8_E4M3:256x1500 prof fp8_hp2
CASE=F8_E4M3:256x1500 prof fp8_hp1 QINFER_CUDA_ATTN_PAIR_MIN_TOK=0
CASE=BF16:256x1500 prof bf16
grep -hE "Duration|DRAM Throughput|Memory Throughput|Issue Slots Busy|Executed Ipc Active|No Eligible|Achieved Occupancy|Registers Per|pipe_.*pct|Warp Cycles Per Issued|dram__bytes_read|inst_executed.sum " $OUT/ncu_*.txt | head -120
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
