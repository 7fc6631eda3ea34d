# Session 31 (H100 80GB HBM3, nvidia-h100-x1): FP8 GEMMs with fast accumulation.
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=... BENCHES=...
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s31qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s31qN.json. Checkpoints: tools/gpu_make_random_fp8.py (--static: the 8B shape, static FP8).
#
# q1: one binary, QINFER_CUDA_FP8_FAST_ACCUM=0 (promoted, the old behaviour) against =1 (CUTLASS
#    FP8FastAccum mainloops for our data-parallel tiles, cuBLASLt FAST_ACCUM).
#    8192^3 FP8 GEMM 1187 -> 1454 TFLOP/s. 8B prefill 2048: 34.65 / 34.66 ms -> 32.15 / 32.41.
#    8B offline 512 x 1000/1000 FP8 KV: C 256 13139.8 (ITL 17.70) -> 13548.1 (17.18); C 512
#    13760.6 (29.32) -> 14233.9 (28.42). Accuracy: the op tests' FP8 GEMMs at n_in 14336-16400
#    moved 2.7e-3 - 3.1e-3 of max |y| off the float64 formula under fast accumulation (the
#    largest outputs ~1 % smaller in magnitude), over the old 2e-3 tolerance; n_in <= 4096
#    within it. gpu_golden: identical for the golden and FP8 fixtures (depths <= 128); the
#    8B-shaped 4-layer dynamic W8A8 checkpoint against transformers 0.134 (promoted) / 0.126
#    (fast), the documented chaotic case (PERFORMANCE "Correctness on the GPU": 0.08-0.11).
#    gpu_gemm under fast stopped at its 1e-3 check (cuBLASLt and our tile both fast: 3.8e-3
#    apart); its check now allows two fast errors.
#
# q2: fast accumulation the default; tests' FP8 GEMM tolerance + n_in x 2^-20 under fast
#    (ops test fp8_accum_tol), Fp8GemmTilesMatchFormula under both modes with n_in 14336 and a
#    check that the modes differ there. test_ops LinearCuda.* + prefill producers 7/7, golden
#    CUDA 12/12. gpu_gemm (fast): cuBLASLt now beats the 128 x 224 tile for gate_up (2048 rows
#    342.3 against 384.1 us; 512: 94.4 against 99.2). 8B prefill 2048: 32.20 / 32.89 ms (fast)
#    against 34.14 / 34.58 (=0). Offline C 256 13636.6 (ITL 17.08) against 13197.0 (17.61);
#    C 512 14217.2 (28.34).
#
# q3: the 128 x 224 tile priced 1.13x per element under fast accumulation (gate_up on
#    cuBLASLt), against q2's binary (apps/qinfer_q2). FP8 GEMM op test passed. gpu_gemm picks
#    lt for gate_up at 128-2048 rows. 8B prefill 2048: 31.45 / 30.97 ms against 32.14 / 31.91.
#    Offline C 256 13745.4 (ITL 16.94) against 13680.9 (17.00); C 512 14485.2 (27.95) against
#    14409.8 (28.06). 8B batch 1 325.5 tok/s (GEMV path, unchanged).
#
# q4: main as committed (f8f4ac6 plus this record). Engine CUDA 5/5. 1B batch 1 1419.8 /
#    1420.4 tok/s, 1B throughput c8 7205.7 output tok/s (ITL 1.02 ms), 8B batch 1 324.3, 8B
#    offline C 256 13631.7 (ITL 17.09 ms). FP8 GEMM ceiling in these runs 1508-1522 TFLOP/s.
#
# q5: the engine step's token budget (qinfer bench --max-num-batched-tokens T, the prefill
#    chunk; default 2048), 8B offline 512 x 1000/1000 FP8 KV. C 256: T 2048 13584.7, 4096
#    13714.2, 8192 13834.6, 16384 13861.6 output tok/s (ITL 17.05-17.29 ms, no preemptions).
#    C 512: T 2048 14339.6 (ITL 28.25 ms, 11 preemptions, 940,000 KV tokens), 4096 14182.1
#    (29.89, 34), 8192 13956.6 (30.78, 50; 915,424 KV tokens: the larger step's activations
#    leave less for the cache, and 512 x 2000 tokens need 1,024,000). Default kept at 2048.
#
# q6 (branch exp/attn-order): the decode attention's grid taking the tokens longest context
#    first (AttnBatch::tok_order, the model sorting each decode batch by position;
#    QINFER_CUDA_ATTN_ORDER=0 off), so that the last wave of blocks holds the shortest units.
#    CudaAttentionTc 7/7 (a reordered run bit for bit the plain one), golden CUDA 12/12. No
#    gain: C 256 13665.1 / 13745.9 against 13764.3 / 13740.6, C 512 14490.1 against 14496.6
#    output tok/s; 1B batch 1 1424.7 / 1424.8. Not merged.
#
# q7: review clean-up of linear_gemm.cc (a cuBLASLt plan's fast flag passed from its cache key,
#    one attribute setter; behaviour unchanged). LinearCuda 5/5. gpu_gemm fast: 8192^3 1517
#    TFLOP/s, gate_up 2048 on lt 328.2 us, down 2048 lt 169.7; =0: 1183 TFLOP/s, gate_up picks
#    128x224 as before (387.5 against lt 418.7).
