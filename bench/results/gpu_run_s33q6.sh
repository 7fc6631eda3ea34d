#!/usr/bin/env bash
# Session 33 run q6: review clean-up of the benchmarks, behaviour unchanged (the 8B linear
# shapes in bench/gpu_bench_data.h for gpu_gemm and gpu_overlap; gpu_overlap's per-layer loops
# and side-by-side arm as helpers): gpu_gemm at 512 rows, gpu_overlap's 88 / 44 split.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
$B/bench/gpu_gemm --n 512 --out $OUT/gemm.json > $OUT/gemm.log 2>&1; echo "gpu_gemm rc=$?"; tail -6 $OUT/gemm.log
$B/bench/gpu_overlap --batch 512 --ctx 1500 --splits 88 --out $OUT/ov512.json 2>&1 | tee $OUT/ov512.log | tail -6
echo "gpu_overlap rc=${PIPESTATUS[0]} elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
