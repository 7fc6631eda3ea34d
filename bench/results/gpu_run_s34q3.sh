#!/usr/bin/env bash
# Session 34 run q3: the gate_up GEMM with silu * up and down's static input quantization in its
# epilogue (sm90/gemm_fp8_silu.cu on branch exp/gate-up-silu-epilogue: a prototype, not on
# main), against the
# engine's two kernels (gemm_fp8_scaled to BF16 + silu_mul_act_bf16): bench/gpu_gemm --silu at
# the offline run's batch sizes (decode 256 / 512 rows, prefill chunks 1,024-2,560).
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
timeout 300 $B/bench/gpu_gemm --silu --n 128,256,384,512,1024,2048,2560 --out $OUT/silu.json 2>&1 | tee $OUT/silu.log
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
