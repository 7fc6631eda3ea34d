# Session 35 (H100 80GB HBM3, nvidia-h100-x1): what the decode attention's read pattern allows,
# and the element-wise kernels of the 8B offline run by shape.
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=... BENCHES=...
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s35qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s35qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
#
# q1: bench/kernels/kv_read (new): the rates stand, but its check raced the backend stream (the
#    copy back read the sums before the kernel ended; fixed with a stream sync) and qinfer did
#    not start (the pack lacked libcpp-httplib; tools/gpu_pack.sh no longer needs
#    .gpu_assets/lib to exist, and it holds that library again). Repeated as q2.
# q2: kv_read, checks ok: a read-only stream 3.094 TB/s, the D2D copy 3.000 (read + write). The
#    paged FP8 cache at 512 x 1,500 keys (blocks of 16 scattered) read with the attention's
#    pattern and no math: 1 KV head a piece (128 bytes) 2.89 TB/s (544 us); 2 heads (256 bytes,
#    the engine's pairs) 3.05 (516 us); 4 or 8 heads 3.03-3.07 (512-520 us). 256 x 1,024:
#    2.83 / 3.00 / 2.98-3.02. The engine's decode_tc_kernel on the same shape
#    (gpu_attention --case F8_E4M3:512x1500): 541.3 / 541.6 us (2.905 TB/s), 5 % above its
#    pattern's copy-only time. With three 8 KB stages a warp and two blocks a multiprocessor
#    (a QINFER_CUDA_ATTN_WARP_KB=24 instance, not kept): 544.6 / 544.4 us at 512 x 1,500,
#    276.3 against 279.5 at 256 x 1,500, 196.9-197.1 against 198.7-199.8 at 256 x 1,024;
#    offline C 512 14,719.0 against 14,768.0 output tok/s. Traced offline C 512 with the
#    element-wise kernels split by grid (sums_grid_c512t.log in the JSON; rows = grid for the
#    norm, rope and to_act, rows x 7 for the static silu): eager steps are 2,048 tokens (299 of
#    them) or 512 decode rows; norm 26.87 us at 2,048 rows (~1.6 TB/s) and 6.10 at 512, silu
#    58.42 / 16.13, rope 36.05 / 8.44, to_act 15.98 (2,048). The step trace of that run:
#    steps_8b_c512_s35q2.csv.gz (QINFER_STEP_TRACE).
# q3: producers with more bytes in flight: 256-thread blocks a row at 64 rows or more (norm,
#    to_act, dynamic silu; QINFER_CUDA_ROW_BLOCK=1024 is the old block) and two 8-element groups
#    a thread in the static silu (QINFER_CUDA_FLAT_GROUPS=1 the old one). Op tests FusedCuda /
#    LinearCuda / OpsCuda 16/16, engine CUDA 5/5, golden CUDA 12/12. Offline C 512, alternated:
#    14,996.8 / 14,962.9 against 14,934.3 / 14,903.4 output tok/s. Traced: norm 14.90 us at
#    2,048 rows (was 26.87), 4.71 at 512 (6.10), to_act 12.24 (15.98); the two-group silu was
#    slower, 69.41 against 58.42 us at 2,048 rows and 19.62 against 16.13 at 512: dropped, the
#    row blocks kept.
# q4: decode_tc_kernel refilling a stage's K tile once Q K^T has read it and its V tile after
#    P V, all S stages in flight from the start (more bytes in flight while a warp computes;
#    QINFER_CUDA_ATTN_KV_HALVES=0 the old ring). Attention op tests 21/21, engine 5/5, golden
#    12/12, but slower everywhere: gpu_attention FP8 512 x 1,500 539.8 / 540.1 against 537.4 /
#    537.2 us, 256 x 1,500 283.6 against 280.3; offline C 512 14,608.6 / 14,556.1 against
#    14,901.5 / 14,872.2; 8B batch 1 315.7 against 324.5 / 324.1 tok/s; 1B batch 1 1,351.0 /
#    1,344.9 against 1,415.5 / 1,416.1. Not kept (reverted).
# q5: bench/kernels/lt_algos (new): cuBLASLt's heuristic offers one algorithm for each 8B layer
#    GEMM as the engine asks for it (FP8, outer-vector scales, fast accumulation), so there is
#    no second choice to tune. Ratios to the 8192^3 rate (1,505 TFLOP/s): qkv 0.493 / 0.626 /
#    0.835 / 0.878 at 256 / 512 / 1,024 / 2,048 rows, o 0.353 / 0.648 / 0.701 / 0.741, gate_up
#    0.703 / 0.911 / 0.973 / 1.002, down 0.489 / 0.863 / 0.946 / 0.942. Main (88de0bf) offline
#    C 512: 14,920.5 / 14,878.3 output tok/s.
# q6: the static silu on a grid of (blocks a row, rows), its row from blockIdx.y
#    (QINFER_CUDA_FLAT_2D=0: the 1-D grid and a 64-bit division a thread before its loads). Op
#    tests FusedCuda / LinearCuda / OpsCuda 16/16 (the static producers' bytes equal the row
#    producers'), engine CUDA 5/5, golden CUDA 12/12. Offline C 512 alternated: 14,955.5 /
#    14,932.1 against 14,923.3 / 14,908.6 output tok/s; traced, the eager steps' silu 877.9 ms
#    (36,864 launches) against ~930 in q2.
# q7: branch exp/prefill-codes (not merged): the warpgroup prefill attention writes o's FP8
#    codes as to_act makes them (attention_prefill_codes) and a mixed step's decode rows
#    theirs, so prefill and mixed steps run no to_act (QINFER_CUDA_PREFILL_CODES=0: to_act, as
#    main). New op test CudaAttention.PrefillCodesAreToActsOfItsOutput passed (codes byte for
#    byte to_act's of the same output, the output bit for bit attention_prefill's), FusedCuda /
#    CudaAttentionTc 16/16, engine CUDA 5/5, golden CUDA 12/12. Offline C 512 alternated:
#    14,991.5 / 14,971.6 against 14,979.7 / 14,982.8 output tok/s: no gain measured (the
#    to_act it removes is 117 ms of the run, q6), so main keeps to_act.
# q8: bench/gpu_gemm --n 512,1024,2048 (8192^3 rate 1,472 TFLOP/s): no CUTLASS tile of ours
#    beats cuBLASLt at the prefill chunk's rows. qkv 0.870 / 0.906 at 1,024 / 2,048 rows
#    (CUTLASS best 0.814 / 0.815, 128 x 128), o 0.779 / 0.772 (0.724 / 0.678), gate_up 0.939 /
#    0.970, down 0.957 / 0.955. At 512 rows the 128 x 224 tile edges cuBLASLt on qkv (24.6
#    against 24.9 us), as in session 33.
# q9: branch exp/prefill-first (not merged): qinfer bench --schedule prefill-first
#    (SchedulerOptions::prefill_first: while a new prompt can be admitted a step takes prompt
#    chunks only and decode waits, vLLM V0's order). 8B offline C 512 alternated: 14,178.8 /
#    14,170.3 against 14,775.9 / 14,739.2 output tok/s (decode-first, main), 58 preemptions
#    against 11, mean ITL 30.0 against 27.5 ms. Step traces steps_8b_c512_s35q9_{pf,df}.csv.gz (phases as in the
#    PERFORMANCE section): prefill-first 36.08 s = prompt steps 9.69 s (306, re-prefills
#    included) + 864 decode steps of 500+ rows 21.67 s + tail 4.72 s; decode-first 34.64 s =
#    11.57 + 18.26 (712 steps) + 4.81. All 512 sequences growing together outrun the
#    940,000-token cache (512 x 2,000 needed), and the preempted ones make a tail of their own.
# q10: lt_algos after its review clean-up (the shared bench inputs), run inline:
#    `.gpu_assets/b/bench/lt_algos --n 512,2048`. Same answer as q5: one algorithm a shape;
#    8192^3 1,501 TFLOP/s; qkv 0.638 / 0.896, o 0.598 / 0.755, gate_up 0.904 / 1.004, down
#    0.869 / 0.934 of it at 512 / 2,048 rows.
