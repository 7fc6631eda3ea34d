# Session 18 device runs (nvidia-h100-x1; scripts as run: gpu_run_s18qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TESTS="test_ops test_golden test_engine" BENCHES=gpu_kernels
# tools/gpu_pack.sh build-f. Run as
#   run command="bash .gpu_assets/s18qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s18qN.sh]
# Results: gpu_s18qN.json (every bench JSON of the run, by name), timeline_*_s18qN.log.
#
# q1 (the decode attention's splits merged in a thread-block cluster, QINFER_CUDA_ATTN_CLUSTER=0
#    the combine kernel as before): test_ops CudaAttentionTc / FusedCuda / FusedDecodeCuda
#    13/13 (the cluster merge gives the combine kernel's bits), golden 12/12, engine 3/3.
#    Decode b1 tok/s, cluster / combine (same binary): 1B 1270.8, 1272.0, 1270.8 / 1245.0,
#    1244.2, 1245.1; 8B 301.7, 301.7 / 299.3, 298.7. Forced splits with the cluster
#    (QINFER_CUDA_ATTN_SPLITS): 1B 2 1257.4, 8 1275.0; 8B 2 295.2, 8 305.0 (planned: 4).
#    Offline 512 x 1000/1000 C256 FP8 KV: 13050.4 / 13029.2. Traced: 1B step 773.9 us on the
#    GPU, attention 5.4-5.5 us a layer (was 2.4 + 3.1 combine), 8B attention 7.7-8.1.
# q2 (the split planner prices splits merged in a cluster, up to 16 then; the bit test compared
#    planned counts that differ without the cluster: 13 failures of that test, not of the
#    kernel). Decode b1 tok/s, planned (16 splits) / 8 forced / 4 forced / cluster off: 1B
#    1250.6, 1252.3, 1252.0 / 1273.0, 1272.9, 1274.8 / 1256.6 / 1241.1; 8B 299.7, 299.0 /
#    302.8, 302.7 / 300.2 / 299.3. Batch 4 (8 prompts 128 -> 256, C 4; output tok/s), planned
#    8 / forced 4: 1B 3194.6, 3185.9 / 3179.6, 3200.8; 8B 996.1, 996.7 / 982.1, 980.1. Prompt
#    2048, decode 128, planned / cluster off: 1B 1127.3, 1115.8 / 1118.8, 1119.0; 8B 279.9,
#    279.9 / 279.5, 279.3. So: clusters of at most 8, priced only in one wave of blocks.
# q3 (clusters of at most 8; the sampler writing its results into mapped page-locked memory,
#    skipping identical argument uploads, and the raw argmax in chunks over several blocks for
#    few rows): test_ops CudaAttentionTc 7/7, golden 12/12; test_engine's sampler tests failed
#    (chunks covered 4096 logits each whatever their count, and the new test's NaN row has no
#    defined answer): fixed for q4. Decode b1 tok/s: 1B both 1297.5, 1295.6, 1297.2 / chunks
#    off (QINFER_CUDA_SAMPLE_CHUNKS=0) 1294.4, 1292.1, 1294.4 / mapped off
#    (QINFER_CUDA_SAMPLE_MAPPED=0) 1282.9, 1283.2, 1282.4 / both off 1280.9, 1279.0; 8B new
#    305.6, 305.9 / both off 305.7, 305.6. Traced 1B: 11.2 us between steps (was 22.7, q1).
#    Offline C256 13084.7.
# q4 (the fixed chunks; block_argmax reduces the warps' maxima in one warp; and the final norm
#    loading its weight before its PDL wait, not kept: its end stayed 6.2 us after the last
#    layer's, against 6.6 in q3): test_ops CudaAttentionTc / Fused / FusedDecode / Linear 18/18,
#    golden 12/12, engine 4/4 (the CudaSampling tests). Decode b1 tok/s, new /
#    sampler as before (both switches off): 1B 1294.6, 1293.8, 1293.8 / 1280.2, 1276.8, 1277.7;
#    8B 306.4, 305.5 / 304.9, 304.6. Traced: 11.0 us between steps (1B), 11.2 (8B); 8B
#    attention 7.0 us a layer at 8 splits. Offline C256 13050.0.
# q5 (two early loads in the decode GEMV, QINFER_CUDA_GEMV_EARLY=0 neither: the first tile's
#    epilogue operands before the prologue, w_scale / bias before the PDL wait and y / RoPE's
#    right after it; and down's input rows loaded with the gate_up maxima instead of after their
#    reduction): FusedCuda / FusedDecodeCuda / LinearCuda 11/11, golden 12/12, engine 4/4
#    (CudaSampling).
#    Decode b1 tok/s, early / late: 1B 1277.2, 1277.9, 1277.2 / 1281.1, 1282.8, 1285.3; 8B
#    302.8, 304.3 / 305.6, 306.3. Traced 1B per layer (advance, us): qkv 6.43 / 5.86 and 6.88 /
#    5.98, gate_up 13.73 / 13.28, down 8.67 / 9.28. So only down's early rows were kept.
# q6 (down's early rows alone, QINFER_CUDA_GEMV_EARLY=0 off): same tests pass. Decode b1 tok/s,
#    early / late: 1B 1303.0, 1302.5, 1303.7 / 1291.0, 1293.4, 1290.7; 8B 306.1, 306.7 / 306.6,
#    305.6. Traced 1B: step 762.6 us on the GPU, 11.1 us between steps; per layer qkv 5.6-5.8,
#    attention 5.1, o 3.3, gate_up 13.3, down 8.8.
# q7 (block timelines: QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=FILE, src/ops/cuda/probe.cuh,
#    tools/probe_summary.py; decode 16 (1B) / 10 (8B) steps so that the ring does not wrap).
#    The summaries printed in the run (probe_*_s18q7.log) show the eager step: the script took
#    the launch count shared by most launches and the eager and captured launches tied; fixed
#    (the graph's). Unprobed decode b1: 1B 1302.3, 1300.3; 8B 302.7; probed 1233.6 / 292.4.
# q8 (six stamps a record: the attention's keys done, warps merged, cluster barrier passed,
#    end). Per layer (us), 1B / 8B, medians over all blocks: release after the previous
#    kernel's last block ~0.8-1.1 for every kernel; attention keys 0.93 / 2.4, warp merge 0.67
#    / 1.47, first cluster barrier 1.02 / 1.22, remote loads + second barrier 1.79 / 1.41; GEMV
#    prologues (x made) qkv 1.4-1.7 / 2.1-2.4, o 1.2 / 1.6, gate_up 1.4 / 2.1, down 3.0-3.7 /
#    3.6-4.0. Attention blocks start 3.5-4.5 us before qkv ends on the 1B, but after it ends
#    on the 8B (their read-ahead finds no time there).
# q9 (the push merge: blocks store their records into block 0's receiving region and arrive;
#    only block 0 waits and merges; QINFER_CUDA_ATTN_PUSH=0 the pull merge): CudaAttentionTc
#    7/7 (bits as the combine kernel), golden 12/12, engine 4/4 (CudaSampling). Decode b1 tok/s,
#    push /
#    pull: 1B 1314.2, 1314.0, 1313.7 / 1296.0, 1295.5, 1293.3; 8B 301.1, 301.0 / 301.5, 302.1;
#    8B prompt 2048 282.5 / 282.6. Probed: 1B attention post-wait 4.08 us (5.02 pull); 8B
#    unchanged (its keys phase 3.0 us a working block: the past keys arrive after the wait).
# q10 (every decode GEMV asking for the largest shared-memory carveout, QINFER_CUDA_GEMV_CARVEOUT
#    =0 the driver's choice; not kept): tests pass. Decode b1 tok/s, max carveout / driver's: 1B
#    1315.4, 1315.0, 1315.6 / 1312.3, 1315.4, 1313.5; 8B 302.1, 300.9 / 300.9, 302.7; 8B prompt
#    2048 282.4 / 281.6. The 8B attention's blocks still started as qkv ended (probed).
# q11 (8B probed: cluster merge / combine kernel / one split / 4 splits): the attention's blocks
#    start at qkv's end in every case (-0.5 to +0.1 us), so not the cluster's doing. Probed
#    tok/s 292.1 / 295.3 / 281.3 / 291.6.
# q12 (8B probed with qkv on a 2-stage ring, QINFER_CUDA_GEMV_RING_KIB=4096x6144:96: 81 KB a
#    block): the attention's blocks still start at qkv's end; unprobed 300.4, 300.8 (base) /
#    300.9, 299.9. Not shared memory then. What it is (found after the run, from ptxas -v): the
#    8B bench's cache is BF16 (the CUDA default), whose head_dim-128 attention kernel uses 168
#    registers, 5,376 a warp; a qkv block (9 warps) puts 3 warps on one of the multiprocessor's
#    four 16,384-register files, 3 x 3,584 at the 110 registers of the unprobed kernel (an
#    attention warp still fits beside them, 16,128) but 3 x 3,840 at the probed kernel's 116
#    (16,896: it does not). So the probe builds delay the 8B attention's start by themselves,
#    and their 8B attention phases (q7-q12) overstate the unprobed kernel's; the 1B's (112 and
#    100 registers) are not affected. Probe timelines of a kernel that shares multiprocessors
#    with one near a register file's limit are to be read with that in mind.
# q13 (the final code: the split merge's arithmetic shared by both decode kernels' cluster
#    merges (attn::merge_splits), the cluster helpers in pdl.cuh): test_ops CudaAttention /
#    CudaAttentionTc / FusedCuda / FusedDecodeCuda / LinearCuda 28/28, golden 12/12, engine 4/4
#    (the CudaSampling tests). Decode b1 tok/s, push / pull: 1B 1315.2, 1316.0 / 1298.6, 1299.6;
#    8B 302.2, 302.1. Offline C256 FP8 KV 13124.5 output tok/s.
# q14 (8B down on a 2-stage ring, QINFER_CUDA_GEMV_RING_KIB=14336x4096:112, 91.5 KB a block, so
#    that the next qkv block (115 KB) fits beside it and fills its ring during down's tail; not
#    kept): decode b1 291.6, 292.3 against 301.3, 302.2 tok/s.
# q15 (review: the probes compiled in only with -DQINFER_CUDA_PROBES=ON; "probed" is q13's
#    binary, probes built in but off; carried as .gpu_assets/old.txz): test_ops CudaAttention /
#    CudaAttentionTc / FusedCuda / FusedDecodeCuda / LinearCuda 28/28, golden 12/12, engine 4/4.
#    Decode b1 tok/s, new / probes built in: 8B 306.3, 306.3, 306.4 / 302.7, 301.3, 302.7; 1B
#    1313.0, 1315.6 / 1310.2, 1308.1. The qkv GEMV is back at 110 registers (116 with probes),
#    so the 8B's BF16 attention fits beside it again: q7-q14's 8B numbers (300-302) carried
#    that cost. QINFER_CUDA_PROBE=1 in this build: "this build has no kernel probes (configure
#    with -DQINFER_CUDA_PROBES=ON)".
