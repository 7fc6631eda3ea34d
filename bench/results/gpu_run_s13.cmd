# Session 13 device runs (nvidia-h100-x1, fresh machine each; scripts as run: gpu_run_s13rN.sh).
# Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, CUTLASS from PyPI
# nvidia-cutlass==4.2.0.0; packed by TESTS=... BENCHES=... tools/gpu_pack.sh build-f.
# r1: bench/gpu_gemm (cuBLASLt vs each CUTLASS tile, 8B shapes, n = 16..2048) -> gpu_gemm_s13r1.*;
#     test_ops LinearCuda.* (5/5 incl. Fp8GemmTilesMatchFormula);
#     offline C256 with QINFER_CUDA_FP8_GEMM=lt / 64x128:384 / 128x64:384 / streamk:384
#     -> tp_c256_*_s13r1.json (12,750 / 12,599 / 12,705 / 12,421 output tok/s).
# r2: the wave-model pick (gemm_fp8_tile): test_ops LinearCuda.*:FusedCuda.* 10/10;
#     gpu_gemm again (its "pick" column) -> gpu_gemm_s13r2.*;
#     C64 (128 prompts, 1000 in / 500 out) lt vs auto -> tp_c64_*_s13r2.json (6,545 vs 6,687);
#     offline C256 under the CUPTI tracer, whole run -> timeline_8b_c256_s13r2.*,
#     kernel_sums_c256_s13r2.log (the test_golden filter there matched no test: the golden
#     GPU tests live in test_engine).
