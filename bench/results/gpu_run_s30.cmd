# Session 30 (H100, nvidia-h100-x1). Every run: `run` with carry .gpu_assets/b.txz
# (tools/gpu_pack.sh build-f; TESTS as each script needs, BENCHES=""), the script as run
# gpu_run_s30qN.sh, every JSON and log tail of run N in gpu_s30qN.json, CUPTI timelines
# timeline_1b_*_s30qN.log. Checkpoints: tools/gpu_make_random_fp8.py --static (1B: --shape 1b
# --layers 16; 8B: --layers 32). Decode b1 is `qinfer bench --prompt-len 128` (1B --decode-len
# 256, 8B 128), BF16 cache.
#
# q1 (branch exp/l2-pin): the lm_head's weight tail in the persisting L2 set-aside
#    (QINFER_CUDA_L2_PIN_MB, an access policy window on the slot GEMV's launches). Op test
#    FusedCuda.L2WindowChangesNoBits and the GEMV / greedy ones 7/7, engine CUDA 5/5. The set-aside
#    comes in steps of ~9.4 MiB, at most 31.2 MiB. 1B tok/s by MiB pinned, two rounds: 0 1428.5 /
#    1429.0, 8 1431.5 / 1430.5, 16 1424.9 / 1424.8, 24 1419.7 / 1422.3, 32 1394.5 / 1395.0, all
#    (31.2) 1393.6 / 1395.4; 8B 0 325.2 / 325.3, all 312.2 / 312.2. Traced (1B, 0 / all): lm_head
#    165.3 / 166.7 us (no faster), gate_up 14.00 / 14.34, down 6.80 / 7.21, qkv 5.47 / 5.58 us a
#    layer; step 708.2 / 723.3 us. Not kept.
#
# q2: the decode attention writing o's FP8 input codes (cu::AttnCodes) at every batch size
#    (then the default). CudaAttentionTc / FusedCuda / LinearCuda 19/19 (codes = to_act's bytes),
#    golden CUDA 12/12, the same greedy tokens. 1B 1414.2 / 1414.5 / 1415.5 against off 1424.0 /
#    1421.8 / 1422.9; 8B 321.7 / 321.4 against 325.3 / 324.4 (o fed copied codes is slower than o
#    making them); 1B throughput c8 7143.5 against 7219.0 (ITL 1.0235 / 1.0238 ms); 8B offline
#    C 256 13293.0 against 13247.5 (ITL 17.50 / 17.56 ms).
#
# q3: copied x loaded by the consumer threads instead of one bulk copy (gemv_bulk flag 64 = the
#    bulk copy), with the codes above 2 rows (B) or at every size (C), against main's paths (A:
#    flag 64, codes off). Tests 21/21, golden 12/12. 1B A 1426.1 / 1421.9 / 1423.0, B 1418.7 /
#    1424.8 / 1426.0, C 1400.0 / 1404.9 / 1396.8; 8B A 324.7 / 324.8, B 325.8 / 324.7, C 319.8 /
#    319.8; 1B c8 A 7319.5 / 7344.4 (ITL 1.03), B 6844.4 / 6701.4 (1.10 / 1.11: the loads serialize
#    the 8 rows). Threads' copy not kept.
#
# q4 (branch exp/static-down-made): a static down making its codes from gate_up's F32 h in its
#    prologue (QINFER_CUDA_STATIC_DOWN_MADE=1) against copying them. Tests 21/21, golden 12/12
#    both ways. 1B 1423.7 / 1420.8 / 1421.9 against made 1364.7 / 1364.3 / 1363.1; 8B 324.7 /
#    324.2 against 316.0 / 315.5. Traced: down 6.53 against 7.68 us a layer. Not kept. 1B c8 with
#    the codes above 2 rows (the default from here) / off: 7149.9 / 7209.3 against 7122.7 /
#    7367.6, ITL 1.03 ms in all four.
#
# q5: main as committed (codes above 2 rows, QINFER_CUDA_ATTN_CODES=2). Engine CUDA 5/5; op
#    tests: every CudaAttentionTc / CudaAttention / FusedDecodeCuda / LinearCuda test and
#    FusedCuda up to MlpFromF32EqualsTheProducerPath passed before the 240 s timeout of the
#    filter (the rest passed in q4 on the same attention code). 1B 1421.6 / 1422.7, 8B 324.6.
#    8B offline 512 x 1000/1000: C 256 13339.2 (ITL 17.42 ms) against off 13312.7 (17.47);
#    C 512 13964.2 (28.88 ms, 11 preemptions) against 13885.3 (29.02).
#
# q6: the review clean-up (o's activation form prepared once a layer, before the attention;
#    behaviour unchanged). Golden CUDA 12/12; 1B 1423.6 / 1421.4 tok/s; 1B throughput c8 7153.3
#    output tok/s (ITL 1.02 ms).
