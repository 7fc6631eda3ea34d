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
#    beside a down block by shared memory and registers; attention -3.4, o -4.2 (0.7 after
#    qkv's end), gate_up -2.8 (0.5 after the attention's end), down -0.3 (gate_up's blocks
#    leave no room). A kernel's blocks never start before the kernel two before it has ended.
#    8B: qkv -0.2, attention -8.6, o -6.1, gate_up +1.1 (o's 4-stage ring leaves no room), down
#    -1.5.
