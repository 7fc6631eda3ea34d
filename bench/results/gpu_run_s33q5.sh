#!/usr/bin/env bash
# Session 33 run q5: the GPU benchmarks after their shared inputs moved to bench/gpu_bench_data.h
# (random operands, the paged attention batch): gpu_attention's FP8 decode row at the offline
# shape, gpu_gemm at 256 / 512 rows (its CUTLASS tiles checked against cuBLASLt), gpu_overlap's
# 88 / 44 split.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
$B/bench/gpu_attention --decode-only --tc-only --case F8_E4M3:256x1500 --case BF16:256x1500 --out $OUT/attn.json 2>&1 | tee $OUT/attn.log | grep -E "^(F8|BF16)|device"
echo "gpu_attention rc=${PIPESTATUS[0]}"
$B/bench/gpu_gemm --n 256,512 --out $OUT/gemm.json > $OUT/gemm.log 2>&1; echo "gpu_gemm rc=$?"; tail -12 $OUT/gemm.log
$B/bench/gpu_overlap --batch 512 --ctx 1500 --splits 88 --out $OUT/ov512.json 2>&1 | tee $OUT/ov512.log | tail -4
echo "gpu_overlap rc=${PIPESTATUS[0]} elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
