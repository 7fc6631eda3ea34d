# Session 7 device runs (H100). Binaries: BENCHES=... tools/gpu_pack.sh build-f, carried as .gpu_assets/b.txz, unpacked
# with `tar xJf .gpu_assets/b.txz -C .gpu_assets`, B=.gpu_assets/b. The CUPTI tracer: tools/cupti_trace/build.sh (packed).
# r1: kernel timelines of the tree at 8b9a1e8 (session 6's final code): 8B / 1B batch-1 decode and the 8B at concurrency 256
#   -> timeline_{8b,1b}_b1_h100_s7r1.*, timeline_8b_c256_h100_s7r1.*, gpu_bench_h100_s7r1.log
tools/gpu_run_all.sh 5ot
# r2: x staged in shared memory by the decode GEMV + the producers (rms_norm, to_act) inside its prologue; their op tests,
#   A/B (both off / x in shared memory only / both on), timelines, golden, generate cuda vs cpu
TEST_FILTER='FusedCuda.*:LinearCuda.*' F_VARIANTS='QINFER_CUDA_GEMV_PROLOGUE=0 QINFER_CUDA_GEMV_XSMEM=0;QINFER_CUDA_GEMV_PROLOGUE=0;QINFER_CUDA_GEMV_PROLOGUE=1' tools/gpu_run_all.sh 15oftc3
