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
# q6 (branch exp/prefill-wg-overlap, not merged: each tile's softmax under the previous tile's
#    P V, FlashAttention-3's intra-warpgroup overlap; four K/V buffers): PrefillAllCacheDtypes,
#    golden 12/12, engine 3/3 pass. gpu_attention tile 3 / 1: BF16 208.8 / 181.4, FP8 207.8 /
#    188.4 (q5's three-buffer kernel: 220.1 / 212.9). TTFT tile 3 / 1: 8B FP8 P2048 36.69 /
#    37.30, P32768 1582.6 / 1736.1 (BF16 1546.1 / 1717.0); 1B P32768 FP8 320.9 / 379.9, P2048
#    7.14 / 7.59, P131072 FP8 4108.8 (tile 3); 8B P131072 printed nothing (the 100 s timeout).
#    8B offline 512 x 1000/1000 C256 FP8 KV: 13,011.6 (tile 3) / 12,952.3 (tile 1).
# q7 (main at 91b106f, 64-key tiles): Nsight Compute on gpu_attention --prefill-only, the first
#    BF16 launch of prefill_wg_kernel (ncu_prefill_wg_s16q7.txt): 184.6 us under the profiler,
#    8 warps a multiprocessor (165 registers, 132 KB shared memory: one block), 1.52
#    instructions issued a cycle, 0.50 of 1.99 warps eligible a scheduler, shared pipeline
#    (tensor) 24.3 %, 3.88 waves.
# q8 (QINFER_CUDA_PREFILL_WG_KEYS=32: 32-key tiles at head_dim 128, 123 registers, two blocks a
#    multiprocessor): PrefillAllCacheDtypes and golden 12/12 pass under it. gpu_attention 32 /
#    64 keys: BF16 220.2 / 201.7, FP8 231.0 / 209.1 TFLOP/s. 8B TTFT 32 / 64: FP8 P2048 36.81 /
#    37.17, P8192 199.67 / 199.86, P32768 1566.7 / 1591.6, BF16 P32768 1496.7 / 1514.6. 32
#    keys made the default at head_dim 128 after this run.
# q9 (the final tree: main with 32-key tiles at head_dim 128): test_ops CudaAttention* +
#    FusedDecodeCuda.* 18/18, test_golden *Cuda* 12/12, test_engine *Cuda* 3/3. gpu_attention
#    tile 3 (default) / 1: BF16 235.4 / 180.1, FP8 237.8 / 188.6 TFLOP/s (F32 cache, the
#    mma.sync kernel either way, 152.4 / 152.7). TTFT (ms) tile 3 / 1: 8B FP8 P2048 36.34 /
#    37.30, P8192 194.35 / 208.48, P32768 1550.0 / 1731.3, BF16 cache P32768 1483.4 / 1707.8;
#    1B P32768 FP8 321.3 / 379.2, P2048 BF16 6.95 / 7.51; 1B P131072 FP8 (tile 3) 4106.8. 8B b1
#    decode P128 300.9 tok/s; 8B offline C256 FP8 KV 13,092.7 output tok/s.
# q10 (review: both prefill kernels take their rows from attn::prefill_rows and convert FP8
#    codes with attn::fp8x8_to_bf16x8; SASS not identical, registers renamed and reordered):
#    test_ops CudaAttention* + FusedDecodeCuda.* + FusedCuda.* 23/23, test_golden *Cuda* 12/12,
#    test_engine *Cuda* 3/3; gpu_attention tile 3 / 1: BF16 249.0 / 186.9, FP8 237.5 / 183.4
#    TFLOP/s (F32 151.9 both).
# q11 (attention_prefill_wg rescales O only in warps where a row's maximum moved;
#    QINFER_CUDA_PREFILL_WG_RESCALE=1 rescales at every tile, as before): PrefillAllCacheDtypes
#    and golden 12/12 pass. gpu_attention, two runs each, skip / always: BF16 216.5, 224.5 /
#    215.2, 206.6; FP8 243.3, 241.0 / 229.7, 217.8 TFLOP/s. 8B FP8 TTFT P32768 (FP8 cache)
#    1516.7 / 1569.5 ms. Made the default.
# q12 (attention_prefill_wg indexes the block table with shifts where the block size is a power
#    of two; QINFER_CUDA_PREFILL_WG_DIV=1 divides as before; PrefillAllCacheDtypes gains a
#    block-size-12 case, which takes the division path): PrefillAllCacheDtypes (every tile
#    shape) and golden 12/12 pass. gpu_attention, two runs each, shifts / divisions: BF16 275.4,
#    254.4 / 212.1, 220.3; FP8 255.5, 240.4 / 221.5, 231.0 TFLOP/s. 8B FP8 TTFT P32768 (FP8
#    cache) 1439.9 / 1538.7 ms. Made the default.
