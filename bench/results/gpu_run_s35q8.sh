#!/usr/bin/env bash
# Session 35 run q8: the 8B layer GEMMs at the prefill chunk's rows (1,024 / 2,048) and 512,
# cuBLASLt against each CUTLASS tile of ours (bench/gpu_gemm): is there a better tile for the
# narrow projections (qkv, o) at 2,048 rows, where cuBLASLt runs at 0.88 / 0.74 of the 8192^3
# rate (q5)?
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
timeout 300 $B/bench/gpu_gemm --n 512,1024,2048 --out $OUT/gpu_gemm.json 2>&1 | tee $OUT/gemm.log
cd $OUT && tar czf all.tgz --remove-files *
