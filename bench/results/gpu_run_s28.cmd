# Session 28 (H100, nvidia-h100-x1): o and gate_up in one kernel, measured and not kept. Every
# run: `run` with carry .gpu_assets/b.txz (tools/gpu_pack.sh build-f with TESTS="test_ops
# test_golden test_engine" BENCHES=gpu_golden, plus apps/qinfer_s27: session 27's main binary,
# stripped), the script as run gpu_run_s28qN.sh, every JSON of run N in gpu_s28qN.json.
# Checkpoints: tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16; 8B: --layers
# 32). Decode b1 is `qinfer bench --prompt-len 128` (1B --decode-len 256, 8B 128), BF16 cache.
# The code is on branch exp/gemv-chain (a146284 for q1 / q2, ba334e2 for q3).
#
# q1 (gemv_bulk_chain, QINFER_CUDA_GEMV_CHAIN=1: one block a multiprocessor, one ring streaming
#    o's weight then gate_up's, a grid barrier between o's rows and gate_up's prologue; ring
#    144 KiB by default, 220 with QINFER_CUDA_GEMV_CHAIN_KIB=220): op tests 11/11 with the new
#    FusedCuda.OMlpChainEqualsOThenMlp (bit for bit against linear_from_f32 + mlp_from_f32, three
#    chains back to back); golden CUDA 12/12, engine CUDA 4/4, gpu_golden (FP8 fixtures = cpu)
#    with the chain on; greedy tokens the same as with it off. 1B: off 1424.0 / 1420.1 / 1427.7,
#    session 27's binary 1425.5 / 1418.1 / 1425.0 (the refactor into produce / consume costs
#    nothing), chain 1268.0 / 1265.7 / 1266.6, chain 220 KiB 1216.3 / 1214.0 / 1215.6. 8B: off
#    325.4 / 325.7, s27 326.4 / 327.0, chain 300.2 / 300.0, chain 220 KiB 307.6 / 307.4.
#
# q2 (CUPTI timelines, timeline_*_s28q2.log; a 1B layer's medians, advance in us): off qkv 5.54,
#    attention 3.99, o 2.69, gate_up 13.96, down 6.89 (33.07); chain: qkv 4.93, attention 4.51,
#    chain 21.52, down 7.40 (38.36); chain at 96 KiB 21.95. 8B chain 54.73 a layer for o and
#    gate_up.
#
# q3 (the barrier, QINFER_CUDA_GEMV_CHAIN_SYNC): 1B off 1422.8 / 1423.0, s27 1425.5 / 1421.4;
#    barrier as q1 1268.4 / 1267.5; its generation on a line of its own, polled with a 64 ns
#    back-off, 1267.8 / 1266.5; no barrier at all (wrong results, a bound) 1330.6 / 1332.3. 8B
#    off 325.5 / 326.8, back-off 299.0 / 299.8, no barrier 306.2 / 305.9, no barrier at 220 KiB
#    314.5 / 314.5. Traced (1B layer medians): no barrier: attention 4.90, chain 18.93, down 7.20;
#    back-off: 4.69, 21.27, 7.35.
#
# q4-q6: claimed units in the decode GEMV, measured and not kept (branch exp/gemv-claim, 30fa783;
#    gemv_bulk flag 64, QINFER_CUDA_GEMV_BULK_FLAGS=64). 16-row units (gate_up: 16 gate rows and
#    their up rows); block b takes units b, b + G, ... (QINFER_CUDA_GEMV_CLAIM_FIXED of them,
#    default claim_fixed = max(2, units / G - 1)), then claims the rest from a per-launch
#    counter, one claim ahead; the launch's last claimer zeroes the counter. q4 ran the first
#    form (one fixed unit, every GEMV with units left: the branch's code with
#    QINFER_CUDA_GEMV_CLAIM_FIXED=1), q5 the default, q6 arms of both with
#    QINFER_CUDA_GEMV_CLAIM_ALL=0 (gate_up only).
#    Correct: op tests 11/11 with the new FusedCuda.ClaimedUnitsEqualFixedRanges (flags 0 and 64
#    bit for bit, three launches in a row, the 1B's and 8B's widths, a last unit of 8 rows), the
#    same 11 with every GEMV claiming (env), golden CUDA 12/12 and engine CUDA 4/4 claiming
#    (q4, q5).
#    tok/s (same runs): q4 1B off 1427.1 / 1426.1 / 1428.4, claim 1371.3 / 1371.4 / 1370.5, s27
#    1423.4-1423.7; 8B off 327.3 / 326.5 / 326.3, claim 322.8 / 321.5 / 322.9, s27 326.1-327.1.
#    q5 1B off 1425.1 / 1423.5 / 1427.0, claim 1382.9 / 1382.7 / 1382.5; 8B off 326.7-326.8,
#    claim 313.0 / 314.0 / 313.0. q6 1B off 1427.7 / 1423.7, all after 1 fixed 1374.1 / 1373.6,
#    gate_up only after 1 1386.7 / 1386.3, gate_up only after claim_fixed 1387.5 / 1385.0, s27
#    1425.8 / 1423.9; 8B off 327.3 / 326.8, all1 321.3 / 320.9, gu1 320.8 / 321.1, guauto
#    320.8 / 320.3, s27 325.5 / 325.9.
#    Traced, a layer's medians (qkv, attention, o, gate_up, down, us): 1B off 5.50 4.00 2.66
#    13.95 6.87 (32.98); q4 claim 5.89 4.74 4.26 12.83 7.07 (34.79); q6 gate_up only 5.60 3.99
#    4.41 13.06 7.15 (34.21). 8B off 10.77 6.05 5.17 42.48 20.02 (84.48); q4 claim 12.77 5.76
#    6.94 38.59 20.83 (84.89); q6 gate_up only 10.98 5.95 7.71 40.66 21.02 (86.31).
#
# q7, q8 (exp/gemv-claim 72e3742: two measurement switches): why o slows beside claiming
#    gate_up blocks. q7, gate_up only: the claiming kernel with every unit fixed in its strided
#    order and no atomic (QINFER_CUDA_GEMV_CLAIM_NONE=1): 1B 1371.1 / 1364.3 against off 1426.5 /
#    1425.6 and claiming 1384.4 / 1382.1; 8B 321.4 / 321.0 against 327.1 / 327.1 and 319.6 / 318.9.
#    Traced (qkv, attention, o, gate_up, down): 1B 5.58 4.08 4.42 13.62 7.04 (34.74), 8B 10.98
#    6.20 7.74 42.11 18.93 (85.95): o as slow with no claim at all. q8: fixed units at the start
#    of the block's own range, claims from the ranges' ends (QINFER_CUDA_GEMV_CLAIM_RANGES=1):
#    GEMV op tests 11/11 (the claim test and, with every GEMV claiming, all), golden CUDA 12/12
#    claiming. 1B 1347.6 / 1348.2 / 1351.5 (gate_up only 1346.9-1352.1) against off 1421.7-1422.8
#    and s27 1419.7-1420.9; 8B 306.1-306.8 (gate_up only 315.2-316.0) against 325.5-326.0 and s27
#    325.0-326.0. Traced: 1B 5.47 3.90 4.45 14.37 6.91 (35.10), 8B 14.50 5.57 7.94 43.81 18.98
#    (90.80): o slow in this order too, and gate_up no longer shorter.
