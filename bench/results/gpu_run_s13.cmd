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
# r3: a sixth tile, 128 x 224 (cute's extended N = 224 wgmma): test_ops LinearCuda.* 5/5,
#     test_engine *Cuda* 3/3; gpu_gemm -> gpu_gemm_s13r3.* (128x224: gate_up 1.05-1.22x at
#     192-320 rows, 1.08 / 1.09x at 1024 / 2048; qkv 1.05-1.11x at 384-512);
#     offline C256 auto vs lt -> tp_c256_*_s13r3.json (12,937 vs 12,827).
# r4 (final code: the 224 tile in the wave model at 0.92x per element, and BF16 outputs from
#     the data-parallel tiles for the prefill's gate_up): test_ops LinearCuda.* +
#     FusedCuda.PrefillProducers* 6/6, test_golden *Cuda* 12/12, test_engine *Cuda* 3/3;
#     8B b1 295.5 / 295.4, 1B b1 1188.3; P2048 TTFT auto 38.95 vs lt 39.03 ms;
#     offline C256 auto 12,939 vs lt 12,766, C512 auto 13,511 -> *_s13r4.json.
