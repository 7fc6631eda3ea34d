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
