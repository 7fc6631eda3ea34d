# Session 19 device runs (nvidia-h100-x1; scripts as run: gpu_run_s19qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops
# test_golden test_engine" BENCHES=gpu_kernels tools/gpu_pack.sh build-f. Run as
#   run command="bash .gpu_assets/s19qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s19qN.sh]
# Results: gpu_s19qN.json (every bench JSON of the run, by name), timeline_*_s19qN.log.
#
# q1 (L2 ahead: the QKV GEMV's producer, once its last weight copy is out, prefetches into L2
#    (cp.async.bulk.prefetch.L2) the first tile pairs of each of the layer's gate_up blocks,
#    QINFER_CUDA_L2_AHEAD_QKV pairs; o's producer the next QINFER_CUDA_L2_AHEAD_O; every
#    QINFER_CUDA_L2_AHEAD_STEP-th pair; default 0 = off, the code as main): test_ops
#    CudaAttentionTc / FusedCuda / FusedDecodeCuda / LinearCuda 19/19 (new
#    FusedDecodeCuda.L2AheadChangesNoBits), golden 12/12 and engine 4/4 with QKV=2, O=1.
#    Decode b1 tok/s (P=128; two rounds): 1B off 1312.3, 1314.2 / Q1 1282.7, 1281.9 / Q2
#    1269.8, 1270.8 / Q3 1275.9, 1274.5 / Q4 (all of gate_up) 1259.1, 1259.6 / Q2+O2 1265.3,
#    1267.6 / Q2 step 2 1289.9, 1289.2. 8B off 304.0, 303.1 / Q1 296.3, 296.1 / Q2 297.1, 296.4
#    / Q3 297.3, 296.5 / Q1+O1 295.3, 294.6 / Q2+O1 297.1, 296.5 / Q2 step 2 297.9, 298.5.
#    Every arm slower (1B -1.8 to -4.1 %, 8B -1.7 to -2.9 %): as session 10's side-stream
#    prefetch, but issued inside the GEMVs (no fork / join in the graph).
#    Code on branch exp/l2-ahead (faaabbe).
# q2 (the same binary with QINFER_CUDA_L2_AHEAD_KEEP=1: the prefetched lines marked evict_last;
#    CUPTI timelines of off / on): FusedDecodeCuda 2/2. Decode b1 tok/s: 1B off 1306.2 (and
#    1304.3) / Q2 keep 1252.6, 1253.7 / O2 only 1263.9, 1260.1 / Q4 keep 1206.8, 1202.1 / Q1 keep
#    1273.4, 1277.1; 8B off 300.8, 300.9 / Q2 keep 287.6, 286.2 / O1 only 297.3, 297.1.
#    Traced (timeline_*_s19q2.log), mean advance a layer (us), qkv / attention / o / gate_up /
#    down: 1B off 6.42 / 4.23 / 3.46 / 13.28 / 9.18, step 762.4 us on the GPU; Q4 10.18 /
#    4.27 / 3.32 / 11.05 / 9.95, step 793.6; Q4 keep 12.27 / 4.16 / 3.28 / 10.91 / 9.89, step
#    822.9. 8B off 12.75 / 7.34 / 7.77 / 43.64 / 20.44, step 3300.2 (lm_head 343.6 us, at the
#    copy rate); Q2 15.94 / 8.29 / 7.67 / 41.94 / 21.08, step 3394.3. So: the prefetch's bytes
#    share HBM with qkv's own (qkv +3.2 to +5.9 us a layer), and gate_up gains only 1.7-2.4 us
#    although 29 % (8B) to all (1B) of its bytes were fetched ahead: most of them do not stay
#    in L2 until gate_up reads them (evict_last keeps them and makes it worse). Not kept.
# q3 (embedding_rows launched under PDL right after rope_prepare, its rows made while that runs
#    and its wait at the end, QINFER_CUDA_EMBED_EARLY=0 as before; env-only arms on the 8B):
#    test_ops CudaAttention* / FusedCuda / FusedDecodeCuda / LinearCuda / OpsCuda 32/32,
#    golden 12/12, engine 4/4. Decode b1 tok/s: 1B early 1322.0, 1325.4, 1323.4 / late 1323.0,
#    1320.8, 1321.2; 8B early 304.7, 304.4 / late 304.4, 305.1 / o's whole weight in its ring
#    (QINFER_CUDA_GEMV_RING_KIB=4096x4096:146, 4 stages) 305.0, 304.4 / qkv's whole weight
#    (4096x6144:212, 6 stages; the attention then no longer fits beside it) 299.1, 298.5 / FP8
#    KV cache (--kv-cache-dtype fp8) 304.3, 305.5. Traced (timeline_*_s19q3.log): the
#    embedding still starts 2.37 us after rope_prepare's end either way (a dependent launch
#    after a 1.3 us kernel comes no sooner than a plain one); 1B step 749.4 / 749.6 us on the
#    GPU, 8B 3288.7. Nothing kept; the embedding change is on branch exp/embed-early (7f6b9bc).
# q4 (branch exp/embed-rope, merged to main as b5b9782: the decode step's first launch makes the
#    embedding rows and rope_prepare's cos / sin and slots together, an extra warp of each
#    embedding block doing rope_prepare's arithmetic; QINFER_CUDA_EMBED_ROPE=0 launches the
#    two): test_ops 33/33 (new FusedDecodeCuda.EmbeddingRowsRopeEqualsTheTwoKernels: bit for
#    bit the two kernels), golden 12/12, engine 4/4. Decode b1 tok/s, one launch / two: 1B
#    1321.2, 1320.8, 1322.4 / 1317.6, 1317.7, 1316.3; 8B 305.9, 305.0, 304.9 / 305.0, 305.6,
#    305.8 (within noise). Traced: 1B step 743.2 / 748.8 us on the GPU (the first qkv now
#    starts 1.99 us after the 1.70 us launch), 8B 3275.2 us. Kept.
# q5 (main b5b9782 + the embedding launch triggering its dependents at its start,
#    QINFER_CUDA_EMBED_TRIGGER=0 at its end; offline on main's code): test_ops 32/33 -
#    LinearCuda.MatchesCpuAndFormulaAcrossFormatsAndShapes failed for seed 3433711589 at FP8
#    act=none n=1 n_in=48 n_out=1: one output whose 48 products cancel to 0.000172 (rel 3e-4,
#    |diff| 5e-8 against terms of ~0.05; a test tolerance defect, not this change's: that test
#    touches no embedding; fixed for q6), golden 12/12, engine 4/4. Decode b1 tok/s, trigger at
#    start / at end: 1B 1324.7, 1323.7, 1322.6 / 1321.9, 1319.7, 1322.1; 8B 306.2, 305.5, 306.1
#    / 305.4, 305.2, 305.2. Traced: the first qkv still starts 2.02 / 1.99 us after the
#    embedding's end, step 743.1 / 742.8 us: no mechanism, so not kept. Offline 512 x
#    1000/1000, C256, FP8 KV (main's code): 12,940.1 output tok/s (ITL 17.97 ms).
# q6 (the LinearCuda tolerance fixed: an output passes relative to y or, where its products
#    cancel, within the tolerance times the products' magnitude, the scale of an fp32
#    accumulation's rounding; QINFER_TEST_SEED=N replays a printed seed): the failing seed
#    3433711589 passes (QINFER_TEST_SEED=3433711589 test_ops
#    --gtest_filter=LinearCuda.MatchesCpuAndFormulaAcrossFormatsAndShapes), and test_ops
#    --gtest_filter='*Cuda*:*CUDA*' 33/33 with fresh seeds.
# q7 (the same rule for FusedCuda.ActivationProducersFeedLinearAct, whose shapes include one
#    output of 1,040 products): the seed of q5 passes again, and LinearCuda.* / FusedCuda.*
#    10/10 three times over with fresh seeds (--gtest_repeat=3).
# q8 (review: rope_prepare's per-token arithmetic as one device function, attn::rope_prepare_token,
#    that rope_prepare_kernel and embedding_rows_rope's extra warp both call, instead of a copy
#    in each): test_ops CudaAttention* / FusedDecodeCuda / OpsCuda 23/23 (incl.
#    FusedDecodeCuda.EmbeddingRowsRopeEqualsTheTwoKernels), golden 12/12, engine 4/4. Decode b1
#    tok/s, one launch / two (QINFER_CUDA_EMBED_ROPE=0): 1B 1320.3, 1319.9 / 1316.8, 1319.1.
