# Session 29 (H100, nvidia-h100-x1): greedy rows sampled by the lm_head. Every run: `run` with
# carry .gpu_assets/b.txz (tools/gpu_pack.sh build-f with TESTS="test_ops test_golden
# test_engine" BENCHES=gpu_golden; q3: TESTS=test_ops), the script as run gpu_run_s29qN.sh,
# every JSON of run N in gpu_s29qN.json, CUPTI timelines timeline_1b_*_s29qN.log. Checkpoints:
# tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16; 8B: --layers 32). Decode b1
# is `qinfer bench --prompt-len 128` (1B --decode-len 256, 8B 128), BF16 cache; "off" is the
# same binary with QINFER_CUDA_GREEDY_LM_HEAD=0 (the sampler kernel after the graph, as before).
#
# q1 (first form: one atomic maximum address a row, a block barrier before the lm_head blocks'
#    first loads): the new op test failed on its own bug (it compared split 2's y with the
#    automatic split's; y's bits do differ between splits); sampler CudaSampling 5/5, golden
#    CUDA 12/12, gpu_golden unchanged (the FP8 fixtures = cpu; the random 1B's 1.63e-01 as in
#    s28). 1B 1423.1 / 1424.3 / 1424.7 against off 1421.5 / 1422.4 / 1424.1; 8B 325.0 / 325.5
#    against 326.0 / 326.1; 1B throughput at concurrency 4 (32 x 128/256) 3602.7 / 3568.9
#    against 3651.6 / 3654.9. Traced: 1.5 us between steps against 8.2 (the sampler 1.06 ..
#    6.62 us after the lm_head's end), the finisher 0.96 us, but the lm_head 169.51 against
#    164.00 us: the step on the GPU 711.3 against 708.2.
#
# q2 (32 partial maxima a row, 128 bytes apart, block b adding to part b % 32; no barrier
#    before the first loads): tests as q1 (the op test's tie count 3 < 10: fixed after q3 by
#    forcing a tie); 1B 1423.0 / 1422.2 / 1421.1 against 1422.6 / 1421.8 / 1424.1; 8B 324.5 /
#    325.1 against 325.3 / 324.2; throughput c4 3898.4 / 3895.5 against 3603.1 / 3630.2.
#    Traced (on only; this chip): lm_head 168.16, finisher 1.28, 1.6 us between steps.
#
# q3 (a measurement build at the q2 code plus QINFER_CUDA_GREEDY_PROBE, not kept: 1 = no
#    atomic, 2 = the plain lm_head with the finisher after it, 3 = each warp's own atomic, no
#    block barrier). Traced lm_head advance: off 164.23, on 164.82, p1 164.55, p2 163.46, p3
#    163.89 us; 1.6 us between steps in all but off (8.7). tok/s (two each, alternating): off
#    1422.2 / 1418.8, on 1430.1 / 1430.3, p1 1429.3 / 1428.5, p2 1434.2 / 1433.0 (wrong
#    tokens), p3 1431.4 / 1430.5. q2's 4 us was the chip: in one run the kept form is within
#    0.6 us of the plain lm_head.
#
# q4 (the kept form, 9e15e30): op tests 14/14 with
#    FusedCuda.GreedyLmHeadKeysAreTheArgmaxOfItsLogits, engine CUDA 5/5 with
#    CudaSampling.GreedyRowsMadeByTheLmHead, golden CUDA 12/12, gpu_golden as before, greedy
#    tokens identical on / off (decode_tokens_head). 1B 1430.7 / 1426.4 / 1427.3 against
#    1421.2 / 1423.7 / 1424.5; 8B 325.9 / 325.5 against 325.4 / 327.2; 1B throughput c4
#    3941.2 / 3942.7 against 3652.8 / 3662.3, c8 6460.5 against 6400.0.
#
# q5 (CUPTI timelines of q4's throughput run at concurrency 4, timeline_1b_c4_*_s29q5.log): on
#    3772.9 output tok/s traced (ITL 1.04 ms), the step on the GPU 1002.0 us, 1.8 us between
#    steps, the lm_head (gemv_slot, 4 rows) 297.05 us; off 3461.8 (1.12 ms), 1070.7 us, 9.5 us
#    between steps (the sampler 1.22 .. 7.74), the lm_head 367.21 us. The 4-row slot GEMV
#    without the greedy epilogue holds 92 registers a thread (2 blocks a multiprocessor), with
#    it 74 (3 blocks): most of the 8 % is that.
#
# q6 (the BF16 slot GEMV for 2-4 rows at >= 3 blocks a multiprocessor, __launch_bounds__:
#    72 registers; against q4's binary carried as apps/qinfer_s29a): GEMV op tests 12/12,
#    engine CUDA 5/5, golden CUDA 12/12. 1B throughput (32 x 128/256) at concurrency 4: on
#    3936.1 / 3942.0, off 3937.3 / 3949.3; q4's binary on 3936.9 / 3932.2, off 3639.9 / 3652.5
#    (ITL 0.987-0.988 / 0.993-0.994 / 0.990 / 1.073 ms). Concurrency 2: 2593.0 / 2612.7,
#    2608.4 / 2603.7, 2600.1 / 2592.8, 2579.1 / 2606.0 (ITL 0.754-0.757 ms in every arm).
#
# q7 (the greedy tag counted once for the process, not per runner): FusedCuda.GreedyLm* 1/1,
#    engine CUDA 5/5, golden CUDA 12/12; 1B batch 1 1428.9 (on) against 1422.4 (off).
#
# q8 (the slot GEMV with R output rows a warp, QINFER_CUDA_SLOT_ROWS=1/2/4 for BF16 at 2-8
#    activation rows; the default was still 1 in this binary): GEMV op tests 12/12 under each R,
#    engine CUDA 5/5 under R=4. 1B throughput (32 x 128/256), sampler kernel (greedy lm_head
#    off), R 1 / 2 / 4: c4 3841.5 / 4139.9 / 4143.7, c8 5895.9 / 6714.5 / 7270.7, c2 2571.3 /
#    2560.0 / 2649.2; greedy lm_head on, c4: 3901.0 / 4166.5 / 4219.0. 1B batch 1: 1432.3 /
#    1432.6 (on) against q7's binary (apps/qinfer_s29b) 1432.6 / 1432.9; off 1422.5 / 1421.9
#    against 1422.8 / 1425.0.
#
# q9 (R = 4 the default): op tests 14/14 (FusedCuda, LinearCuda, FusedDecodeCuda), engine CUDA
#    5/5, golden CUDA 12/12. c4 4152.9 (on) / 4151.3 (off), c8 6860.4 / 7209.6 (ITL 1.043 /
#    1.028 ms), 1B batch 1 1434.6.
#
# q10 (review clean-up, no change of behaviour: the slot GEMV's arguments built in one place,
#    each warp's greedy keys zeroed once, greedy_answers without a per-row ban check): op tests
#    14/14, engine CUDA 5/5, golden CUDA 12/12; 1B c4 4191.7 (on) / 4198.9 (off), c8 7431.5 /
#    7488.0, batch 1 1428.1.
