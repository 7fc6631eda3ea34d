# Session 24 (H100, nvidia-h100-x1): where the batch-1 decode layer's time beyond its weight
# bytes goes, block by block, and one change measured and not merged. Every run: `run` with carry
# .gpu_assets/b.txz (tools/gpu_pack.sh build-f, plus qinfer_probe / qinfer_old as said), the
# script as run gpu_run_s24qN.sh for q1, q2, q4, q5 and q8 (q3 ran q2's without its tok/s lines
# and its arms; q6 ran q5's without the golden and engine tests and gpu_golden, with a 1B trace
# after the 8B's; q7 ran q5's with that 1B trace), every JSON of run N in gpu_s24qN.json. Checkpoints:
# tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16; 8B: --layers 32). Decode
# b1 is `qinfer bench --prompt-len 128` (1B --decode-len 256, 8B 128), BF16 cache unless said.
#
# Measurement build (branch exp/probe-ring-stamps, worktree, -DQINFER_CUDA_PROBES=ON): the GEMV
# under __maxnreg__(112) so that the probed qkv GEMV keeps the unprobed one's register
# allocation (112: session 18's probe builds took it to 116 and so kept the 8B's BF16 attention
# from fitting beside it); from q3 its producer stamps when it sees the ring's prefetched stages
# complete. tools/probe_phases.py (new) prints, per kernel of a step, when its blocks started
# (against the previous kernel's end), their release, and the phases after it.
#
# q1 (probes, first form; tok/s): main 1B 1401.6, probe binary unprobed 1348.0, probed 1279.7;
#    8B BF16 cache 311.1 / 308.8, FP8 cache 311.6 / 311.6; probed 8B 297.5 (BF16) / 297.8 (FP8).
#    Traced (timeline_8b_*_s24q1.log): attention 8.13 (BF16) / 8.07 (FP8) us a layer, the same.
# q2 (start stamps; arms: QINFER_CUDA_GEMV_CARVEOUT=1, a measurement switch every GEMV asking for
#    the largest shared-memory carveout, and o on a 2-stage ring, QINFER_CUDA_GEMV_RING_KIB=
#    4096x4096:96). Every kernel's blocks are resident before the previous one ends where shared
#    memory allows: 8B attention -8.8 us before qkv's end, o -8.5 us before the attention's end
#    (0.7 us after qkv's end, on the attention's multiprocessors and the others alike), down
#    -4.2 (median; -12 the first) before gate_up's end, qkv -1.7 before down's; gate_up only
#    +1.1 us after o's end (its 188 KiB blocks cannot share with o's). 1B the same (attention
#    -3.7, o -3.5). tok/s: 1B base 1401.6 / 1398.8, carveout 1398.6 / 1396.3; 8B base 309.8 /
#    311.2, carveout 311.3 / 310.0, o 2-stage 312.0 / 312.1 (probed 8B: o's advance 7.6 against
#    6.0, the attention's 7.1 against 8.3). Nothing kept.
# q3 (the producer's ring-full stamp): o's ring is full 4.2 us before its release on the 8B (its
#    blocks filled it in 5.5 us from their start; 1B 2.0 us before), yet the consumers pass its
#    third stage 3.4 us after the release (x made at 0.8): the first tile, two stages already in
#    shared memory and one epilogue, takes 2.6 us; the second tile 0.8. The 8B attention after
#    its release: keys 2.2-2.5 us (1B 1.0), warps merged 1.0 (0.6), end 4.7-5.7 (2.4-2.7).
#    Per-block gate_up ends (8B): fastest 35.6-37.8 us after the release, median 42.2-42.7,
#    last 46; a mean 4.2 us from the median to the last block, and the same multiprocessors
#    (60, 19, 121, 88, 51, ...) among the ten slowest in about half the layers: per-SM rates
#    differ by ~10 %. down's spread 2.9 us, qkv's 1.2, o's 0.2.
# q4 (measurement flags of gemv_bulk on the exp branch: 16 = epilogue operands (w_scale, bias, y,
#    RoPE's cos / sin and slot) loaded at a tile's last stage instead of its first, 8 = not
#    loaded at all, wrong results). tok/s: 1B base 1383.6 / 1386.2, late 1386.7 / 1385.4, none
#    1395.1 / 1391.7; 8B base 309.8 / 308.4, late 308.0 / 308.6, none 315.1 / 315.2. Probed 8B:
#    gate_up advance 45.6 (none) against 47.3 us; the rest unchanged; the 1B o's consumers pass
#    their one stage 1.19 us after the release without the loads, 1.27 with them.
# q5-q7 (branch exp/gemv-epi-smem: EpiSmem, the operands copied into shared memory by cp.async,
#    the weight's before the PDL wait; q5 the rest before the prologue, q6 after it, q7 with
#    the copies committed as a group, which q6 forgot: its 1B bench hit an illegal address when
#    a RoPE slot was read before its copy landed). Correct (q5, q7): test_ops FusedCuda /
#    LinearCuda / FusedDecodeCuda / DecodePersistentCuda / AttentionOCuda 17/17, golden 12/12,
#    engine 4/4, gpu_golden the FP8 fixtures =cpu (the random static 1B's gpu~cpu 0.163, the
#    same digits as session 23: random W8A8 chaos, unchanged by this). Not faster: q7 1B 1340.1
#    / 1339.2 / 1339.5 against 1398.9 / 1400.2 / 1398.7 (main's binary, same run); 8B 309.9 /
#    310.5 / 309.9 against 310.0 / 310.2 / 309.7. Traced (q7): 8B gate_up 42.7 against ~43.9
#    us a layer, but qkv 13.1 against 11.2 and down 20.9 against 19.3; 1B gate_up 14.6 against
#    13.0: the region (0.5-4.5 KB a block) made the 1B's o block and gate_up's no longer fit one
#    multiprocessor together (session 17's margin). Not merged.
# q8 (Nsight Compute 2025, kernels serialized, caches and clocks as found: warp stall reasons
#    per issued instruction, ncu_*_s24q8.log): the GEMVs 6.6-8.5 cycles an instruction, mostly
#    "wait" (fixed-latency dependencies), long and short scoreboard and barrier; instruction
#    fetch ("no_instruction", 0.18-0.45) and the constant cache ("imc_miss", 0.23-0.59) are a
#    tenth of it. The attention: barrier 2.0-2.8 (its cluster barrier), membar 0.6-0.9.
# After the runs (no device): tools/probe_phases.py --sm-ranks on q4's 8B probe records
#    (probe_8b_s24q4.bin.xz; smranks_8b_*_s24q4.log): over 297 gate_up launches the mean
#    finishing rank spreads 0.151 across multiprocessors and 0.053 across block indices (0.017
#    for neither); SMs 78-83 and 34-39 finish at mean rank 0.07-0.09, SMs 19-21, 60, 64-69,
#    102, 110, 117 at 0.63-0.66. down: 0.161 / 0.159 (its blocks start as gate_up's end, on
#    the same multiprocessors' schedule).
# q9 (another machine; the q3 measurement build and main's binary): the finishing order again
#    follows the multiprocessor (gate_up 0.189 by SM, 0.025 by block), with a different set of
#    fast SMs (50-51, 2-3, 80-85) than q4's machine: the order is the chip's, so a rate table
#    would have to be measured on each GPU. The same with gemv_bulk flag 1 (copy only: the
#    consumers wait for and free the stages without their MMAs; wrong results): 0.192, so it is
#    the memory path. And copy only is much faster: main's binary 339.9 / 339.7 against 309.2 /
#    309.4 tok/s; probed advance a layer qkv 10.6 / 12.3, o 5.0 / 6.1, gate_up 44.1 / 47.4,
#    down 18.7 / 21.1 us. The consumers' per-stage work (12 shared loads and 8 MMAs a warp, the
#    tile epilogues) is on the critical path of every GEMV, 6.3 us of an 8B layer.
# q10 (main's binary, 8B static batch 1, alternating): is it the ring depth that copy-only frees?
#    base 309.7 / 309.4; gate_up on 6 stages (QINFER_CUDA_GEMV_RING_KIB=4096x28672:227) 307.9 /
#    309.0; down on 6 (14336x4096:227) 311.9 / 312.0; both 310.3 / 310.3; copy only 338.8 /
#    339.0. Not the depth (down's +0.8 % is the only gain, too small to change the default on
#    two samples); the consumers' own work is what costs.
# q11 (nvidia-smi every 100 ms during 512 decode tokens, main's binary): base 310.7 / 310.5
#    tok/s at 1,980 MHz SM clock, 561 / 560 W median, no throttle reason; copy only 337.9 /
#    338.4 at 1,980 MHz, 489 / 485 W. Not the clock: the consumers' MMAs and their shared-memory
#    loads themselves (and ~70 W of tensor-core power for 16 x 8 MMAs of which one column is
#    used at batch 1).
# q12 (a measurement binary: main's gemv_bulk with gpu_s24q12_flags.patch; 8B static batch 1,
#    alternating; wrong results in the flagged arms): base 307.9 / 308.0 tok/s; flag 32 (the
#    shared-memory loads kept, the MMAs dropped) 328.7 / 330.0; flag 64 (the MMAs kept on
#    register values, the loads dropped) 314.0 / 313.9; copy only 349.0 / 348.6. The MMAs are
#    most of the consumers' cost. Branch exp/gemv-early-release frees each stage as soon as its
#    loads are in registers, before the MMAs; its A/B (gpu_run_s24q13.sh, on the branch) could not run: no
#    device time was left to start a machine.
