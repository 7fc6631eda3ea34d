# Session 16 device runs (nvidia-h100-x1; scripts as run: gpu_run_s16qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TESTS="test_ops test_golden test_engine" BENCHES=gpu_attention
# tools/gpu_pack.sh build-f and run as
#   run command="bash .gpu_assets/s16qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s16qN.sh]
# Every bench JSON of run qN is in gpu_s16qN.json (keyed by file name).
# q1 (main + branch exp/prefill-hd64-3blocks merged): test_ops CudaAttention*:FusedDecodeCuda.*
#    18/18 (CudaAttention.PrefillAllCacheDtypes with the three-block tile shape), test_golden
#    *Cuda* 12/12, test_engine *Cuda* 3/3. 1B FP8 TTFT (qinfer bench --prompt-len P
#    --decode-len 8), QINFER_CUDA_PREFILL_TILE 1 (default: three blocks where the grid spans
#    four waves) against 0 (the 64-row kernel): P2048 BF16 7.40 / 7.60 ms, P32768 BF16 374.2 /
#    463.3, P32768 FP8 377.8 / 421.8. gpu_attention --prefill-only (8B dims, 2048 tokens):
#    BF16 171.2, FP8 183.1, F32 152.1 TFLOP/s.
# q2 (a probe outside the tree, not kept: one warpgroup's wgmma m64n64k16 S = Q Kᵀ from
#    128-byte-swizzled shared memory and m64n{64,128}k16 O = P V with P from registers and V
#    N-major, against the CPU): S max error 1.0e-5; O 5.8e-6 / 3.6e-6 with the leading byte
#    offset = the 64-dim panel stride and the stride byte offset = 1024 (the 8-key atom); the
#    other order 45 / 26 (wrong). The layout of src/ops/cuda/wgmma.cuh.
# q3 (attention_prefill_wg first cut: two buffers, two barriers a tile; QINFER_CUDA_PREFILL_TILE
#    3 against 1): test_ops CudaAttention* 18/18 (PrefillAllCacheDtypes with tile 3 first),
#    test_golden *Cuda* 12/12 under tile 3. gpu_attention --prefill-only (8B dims, 2048 tokens)
#    BF16 192.9 / 189.8 TFLOP/s, FP8 206.7 / 188.0. TTFT (ms) tile 3 / 1: 8B FP8 P2048 37.17 /
#    37.42, P8192 199.84 / 205.60, P32768 1652.9 / 1734.1 (BF16 cache 1597.8 / 1716.2); 1B
#    P32768 FP8 313.6 / 380.0, P2048 BF16 6.99 / 7.70.
# q4 (shapes, QINFER_CUDA_PREFILL_WG on that build, not kept: 11 = one warpgroup of 64 rows a
#    block, 12 = the same with 128-key tiles at head_dim 64; 21 = two warpgroups, the default):
#    both pass PrefillAllCacheDtypes. gpu_attention BF16 199.6 (21) / 180.0 (11); TTFT 1B
#    P32768 FP8 315.9 / 384.4 / 427.0 (12), P2048 7.09 / 7.14 / 7.49; 8B P2048 37.45 / 38.08,
#    P32768 1669.7 / 1859.8.
# q5 (three K / V buffers, copies two tiles ahead, one barrier a tile, the block-table entries
#    loaded a tile ahead of their copies): test_ops CudaAttention.Prefill* pass, golden 12/12
#    under tile 3. gpu_attention tile 3 / 1: BF16 220.1 / 182.4, FP8 212.9 / 188.8 TFLOP/s.
#    TTFT (ms) tile 3 / 1: 8B FP8 P2048 36.50 / 37.34, P8192 195.18 / 206.30, P32768 1581.8 /
#    1727.9 (BF16 cache 1505.8 / 1706.7); 1B P32768 FP8 320.9 / 377.1 (BF16 327.5 / 373.6),
#    P2048 BF16 7.06 / 7.48. Tile 3 made the default after this run.
