# Session 26 (H100, nvidia-h100-x1): batch-1 decode, where blocks wait. Every run: `run` with
# carry .gpu_assets/b.txz (tools/gpu_pack.sh build-f, TESTS / BENCHES as the script uses; the
# probe runs add apps/qinfer_probe, the same commit configured with -DQINFER_CUDA_PROBES=ON),
# the script as run gpu_run_s26qN.sh, every JSON of run N in gpu_s26qN.json, block phases
# phases_*_s26qN.log (tools/probe_phases.py), CUPTI timelines timeline_*_s26qN.log (the tracer
# now also records memory copies, and tools/cupti_timeline.py lists what runs between steps).
# Checkpoints: tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16; 8B: --layers
# 32). Decode b1 is `qinfer bench --prompt-len 128` (1B --decode-len 256, 8B 128), BF16 cache.
#
# q1 (main a934279, session 25's last commit, measured for the first time): 1B 1407.6 / 1405.6 /
#    1405.5 tok/s, 8B 325.3 / 324.1; traced 1379.1 / 323.1 (step on the GPU 715.9 / 3084.3 us).
#    Between steps (1B, us after the lm_head's end): sample_kernel 2.0 .. 7.6, the metadata's
#    upload (memcpy HtoD 92 B) 9.0 .. 10.1, the next graph's first kernel at 11.7.
#    Probed, means a layer by position (start: the blocks' median start against the previous
#    kernel's end; start2: against the kernel two before's end): the 1B's qkv starts +0.36 after
#    down's end, 7.7 after gate_up's, although a qkv block (2 stages since session 25) fits
#    beside a down block by shared memory (q2: in this probe build not by registers); attention -3.4, o -4.2 (0.7 after
#    qkv's end), gate_up -2.8 (0.5 after the attention's end), down -0.3 (gate_up's blocks
#    leave no room). A kernel's blocks never start before the kernel two before it has ended.
#    8B: qkv -0.2, attention -8.6, o -6.1, gate_up +1.1 (o's 4-stage ring leaves no room), down
#    -1.5.
# q2 (arm "carve": QINFER_CUDA_GEMV_CARVEOUT=1, a measurement switch, every GEMV asking for the
#    largest shared-memory carveout; not kept): slower, 1B 1369.1-1370.6 against 1405.1-1406.8,
#    8B 320.8 / 321.0 against 324.3 / 325.5; with down on 3 stages and qkv on 2 as well (RING_KIB
#    14336x4096:128,4096x6144:96, so that both fit one multiprocessor) 307.4 / 307.8. Probed,
#    the 1B's qkv still starts +0.37 after down's end: not the carveout. (After the run: in the
#    probe build the down and qkv kernels hold 100 and 106 registers, 104 and 112 allocated a
#    thread, and no placement of their 9 warps each fits one of a multiprocessor's four 16K
#    register files; unprobed, 94 and 100 (96 and 104) do. The probes move exactly this.)
# q3 (copy only, QINFER_CUDA_GEMV_BULK_FLAGS=1: the consumers wait for and free each stage and
#    still run each tile's epilogue, without MMAs; wrong results): 1B 1490.3 / 1498.0 against
#    1405.0 / 1406.8, 8B 338.1 / 338.2 against 324.2 / 324.9. The wgmma chains' latency is on the
#    critical path where a GEMV's stages are already in shared memory at its release (qkv, o,
#    the first stages of gate_up and down).
# q4 (a 2 KiB stage's 8 wgmmas as one chain, one wait a stage instead of two; flag 16 = chains of
#    4, session 25): GEMV op tests 10/10; 1B 1401.2 / 1399.1 / 1399.3 against 1393.9 / 1395.4 /
#    1393.4, 8B 322.8 / 323.5 against 321.9 / 322.8 (another chip, slower than q1's).
# q5 (the 8 as two interleaved chains of 4 into two accumulators, one wait, for every GEMV but
#    the dynamic down's kernel; flag 32 one chain of 8, flag 48 chains of 4): 1B 1399.7 /
#    1402.1 / 1402.0 against 1394.3 / 1392.9 / 1388.2 (one) and 1373.4 / 1371.4 / 1371.8 (chains
#    of 4); 8B 324.6 / 323.3 against 322.1 / 322.5 and 320.8 / 319.3. FusedCuda.
#    MlpFromF32EqualsTheProducerPath failed: the dynamic down's kernel (one chain) no longer gave
#    the producer path's bits (two). Then two accumulators for every kernel: 110 registers for
#    that one (112 before), the others as before.
# q6 (four accumulators, chains of 2; flag 64 two, flag 32 one): op tests 10/10, golden CUDA
#    12/12, engine CUDA 4/4; but that build held the static down's kernel on 105 registers (94)
#    and every arm was slower than q5's: 1B 1388.5 / 1389.6 / 1387.2 (four), 1389.7 / 1395.4 /
#    1397.1 (two), 1389.8 / 1391.2 / 1382.9 (one); 8B 322.1-323.8. Not kept.
# q7 (the final form: two accumulators for every GEMV, registers rope 100, made 92, copied 94,
#    from silu 86): GEMV op tests 10/10 (the MLP test's bits again equal), golden CUDA 12/12,
#    engine CUDA 4/4, gpu_golden the FP8 fixtures = cpu (the same numbers as session 25; l1b_s
#    the random W8A8 model's known 0.163). 1B 1404.0 / 1407.3 / 1403.3 against 1398.6 / 1398.5 /
#    1398.4 (flag 32) and 1394.4 / 1398.0 / 1395.1 (flag 48, session 25's form); 8B 322.9 / 324.1
#    against 323.3 / 322.9 and 323.3 / 322.3 (the 8B within its spread).
