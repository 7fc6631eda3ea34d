# Session 8 device runs (H100). Binaries: BENCHES=gpu_golden tools/gpu_pack.sh build-f, carried as .gpu_assets/b.txz, unpacked
# with `tar xJf .gpu_assets/b.txz -C .gpu_assets`, B=.gpu_assets/b. r1-r3 ran the tree of branch exp/persistent-decode
# (commit c35e336 and its two predecessors' working trees), whose gpu_run_all.sh has step d (the persistent decode step).
# r1: first version of the persistent kernel (attention: one lane per key, serial V loop): FusedCuda / LinearCuda tests pass
#   (gemv_bulk's device code moved to a header), golden (-> gpu_golden_fused_h100_s8r1.log), 8B 226.5 tok/s fused vs 282.5
#   per-kernel, 1B 813.1 vs 1138.6:
TEST_FILTER='FusedCuda.*:LinearCuda.*' TEST_TIMEOUT=200 F_VARIANTS='QINFER_CUDA_FUSED_STEP=0' tools/gpu_run_all.sh 143o5f
QINFER_CUDA_FUSED_STEP_MIN_CHUNK=1 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden_minchunk.json tests/quant/data/fp8_* /tmp/llama8b_fp8_l4
# r2: attention with lanes over head dims, 8 warps x 8 keys a round, direct write when one split covers the keys; phase
#   trace (-> gpu_fused_h100_s8r2.log): 8B 263.6 vs 281.3, 1B 958.6 vs 1142.1
tools/gpu_run_all.sh d
# r3: + release-reduction barrier and L2 prefetch of the attention's K/V rows (c35e336), A/B of both
#   (-> gpu_fused_h100_s8r3.log, bench_llama*_QINFER_CUDA_FUSED_STEP*_h100_s8r3.json, trace_fused_{8b,1b}_h100_s8r3.csv.gz):
D_VARIANTS="QINFER_CUDA_FUSED_STEP=1 QINFER_CUDA_FUSED_STEP=0 QINFER_CUDA_FUSED_STEP_SYNC=1 QINFER_CUDA_FUSED_STEP_PREFETCH=0" tools/gpu_run_all.sh d
# r4: main (3358321): the decode GEMV's ring size at batch 1, 1B (-> gpu_kib_ab_h100_s8r4.log; the 8B half of the command
#   did not run: its checkpoint was not generated in that call):
F_VARIANTS='QINFER_CUDA_GEMV_BULK_KIB=160;QINFER_CUDA_GEMV_BULK_KIB=200;QINFER_CUDA_GEMV_BULK_KIB=227;QINFER_CUDA_GEMV_BULK_KIB=160' tools/gpu_run_all.sh of
