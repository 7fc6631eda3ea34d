# Session 7 device runs (H100). Binaries: BENCHES=... tools/gpu_pack.sh build-f, carried as .gpu_assets/b.txz, unpacked
# with `tar xJf .gpu_assets/b.txz -C .gpu_assets`, B=.gpu_assets/b. The CUPTI tracer: tools/cupti_trace/build.sh (packed).
# r1: kernel timelines of the tree at 8b9a1e8 (session 6's final code): 8B / 1B batch-1 decode and the 8B at concurrency 256
#   -> timeline_{8b,1b}_b1_h100_s7r1.*, timeline_8b_c256_h100_s7r1.*, gpu_bench_h100_s7r1.log
tools/gpu_run_all.sh 5ot
# r2: x staged in shared memory by the decode GEMV + the producers (rms_norm, to_act) inside its prologue; their op tests,
#   A/B (both off / x in shared memory only / both on), timelines, golden, generate cuda vs cpu
TEST_FILTER='FusedCuda.*:LinearCuda.*' F_VARIANTS='QINFER_CUDA_GEMV_PROLOGUE=0 QINFER_CUDA_GEMV_XSMEM=0;QINFER_CUDA_GEMV_PROLOGUE=0;QINFER_CUDA_GEMV_PROLOGUE=1' tools/gpu_run_all.sh 15oftc3
# r3: the MLP as two GEMVs (mlp_from_f32: gate_up pairs gate / up rows and writes silu * up with per-block maxima; down
#   quantizes it in its prologue); A/B of QINFER_CUDA_GEMV_PROLOGUE=0 / QINFER_CUDA_GEMV_MLP=0 / =1 and of an unsplit
#   tensor-core decode attention (QINFER_CUDA_ATTN_ONE_SPLIT=1: 1B 1094 -> 1152, 8B 281.1 -> 280.4), timelines, golden
TEST_FILTER='FusedCuda.*:LinearCuda.*' T_PROMPTS=0 F_VARIANTS='QINFER_CUDA_GEMV_PROLOGUE=0;QINFER_CUDA_GEMV_MLP=0;QINFER_CUDA_GEMV_MLP=1;QINFER_CUDA_ATTN_ONE_SPLIT=1;QINFER_CUDA_GEMV_MLP=1' tools/gpu_run_all.sh 15oftc3
# r4 = final (the tree committed after it: the combine's cost in the split model as 3.5 us of the cache's tile-times, env_int
#   switches QINFER_CUDA_GEMV_BULK_KIB / _FLAGS): all 27 CUDA op tests, golden F32 / BF16 / FP8 KV, 8B latency P=128 /
#   P=2048, 1B latency, A/B of the GEMV's shared memory (two blocks per SM at 110 / 100 KiB: slower), generate cuda vs cpu
TEST_FILTER='*Cuda*:*CUDA*' TEST_TIMEOUT=300 F_VARIANTS='QINFER_CUDA_GEMV_BULK_KIB=160;QINFER_CUDA_GEMV_BULK_KIB=110;QINFER_CUDA_GEMV_BULK_KIB=110 QINFER_CUDA_GEMV_BULK_FLAGS=2;QINFER_CUDA_GEMV_BULK_KIB=100 QINFER_CUDA_GEMV_BULK_FLAGS=2' timeout 590 tools/gpu_run_all.sh 13b5ofc
# r5: the tree after the review's refactor (add_squares / quant4 shared by fused.cu and gemv_bulk.cu; same arithmetic):
#   FusedCuda / LinearCuda / OpsCuda tests (12, pass), 8B / 1B latency (281.1 / 1111.7 tok/s, prefill 2048 38.5 ms),
#   timelines of the final code, golden F32, generate cuda vs cpu
TEST_FILTER='FusedCuda.*:LinearCuda.*:OpsCuda.*' T_PROMPTS=0 tools/gpu_run_all.sh 15otc3
# r6: the tree after the second review (silu_times and float4 * shared through fp8_device.cuh, one helper for gemv_bulk's
#   prologue arguments; same arithmetic): FusedCuda / LinearCuda / OpsCuda tests, 8B / 1B latency (279.8 / 1109.4 tok/s,
#   prefill 2048 38.55 ms), golden F32, generate cuda vs cpu. FusedCuda.ActivationProducersFeedLinearAct failed once at seed
#   2670274770 on an F16 act=none n_out=1 row whose single output cancels to 3.3e-4 (rel 1.4e-3 = 4.5e-7 absolute: fp32
#   summation error of 1040 terms of ~0.025, a test with a relative tolerance on a near-zero value; path not touched by the
#   refactor); then passed 3 times with fresh seeds (gpu_test_ops_repeat_h100_s7r6.log):
TEST_FILTER='FusedCuda.*:LinearCuda.*:OpsCuda.*' tools/gpu_run_all.sh 15oc3
.gpu_assets/b/tests/test_ops --gtest_filter='FusedCuda.ActivationProducersFeedLinearAct' --gtest_repeat=3
