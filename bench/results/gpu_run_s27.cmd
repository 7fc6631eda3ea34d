# Session 27 (H100, nvidia-h100-x1): batch-1 decode. Every run: `run` with carry
# .gpu_assets/b.txz (tools/gpu_pack.sh build-f with TESTS="test_ops test_golden test_engine"
# BENCHES=gpu_golden; A/B runs add apps/qinfer_s26, session 26's main binary, stripped), the
# script as run gpu_run_s27qN.sh, every JSON of run N in gpu_s27qN.json. Checkpoints:
# tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16; 8B: --layers 32). Decode b1
# is `qinfer bench --prompt-len 128` (1B --decode-len 256, 8B 128), BF16 cache.
#
# q1 (the GEMV's wgmma descriptors as 32-bit halves kept in uniform registers; registers rope
#    100, made 90, copied 92, from silu 88; the copied-x kernel, the static down's, still builds
#    its descriptors in vector registers, SASS): GEMV op tests 10/10, golden CUDA 12/12, engine
#    CUDA 4/4, gpu_golden the FP8 fixtures = cpu with session 26's numbers (l1b_s the random
#    W8A8 model's known 0.163). 1B 1421.6 / 1414.9 / 1420.6 tok/s against session 26's binary
#    1407.7 / 1406.6 / 1403.8 (+1.0 %); 8B 325.5 / 326.4 against 325.0 / 324.1; copy only
#    (flag 1, wrong results) 1B 1502.6, 8B 339.3.
#
# q2 (a decode graph slot's two graphs over two metadata buffers, the metadata copied on a side
#    stream while the step before runs, cu::SideUpload): golden CUDA 12/12, engine CUDA 4/4
#    (their decode steps replay both graphs of a slot), GEMV op tests 10/10. 1B 1424.4 / 1423.7 /
#    1423.4 tok/s against 1418.1 / 1416.6 / 1420.5 with QINFER_CUDA_META_SIDE=0 (one buffer,
#    copied on the backend stream) and 1401.1 / 1404.7 / 1402.1 for session 26's binary; 8B
#    325.8 / 325.6 against 326.2 / 326.0 (within its spread). The sampler's results through a
#    copy on the stream (QINFER_CUDA_SAMPLE_MAPPED=0): 1401.8, mapped stays. Traced (1B,
#    timeline_1b_{side,stream}_s27q2.log; the timeline tool then took one of the two graphs'
#    replays as the steps, since fixed to merge sibling graphs): between two replays of the
#    same graph 725.6 us for a step of 710.7, so ~7.5 us between steps against 11.6 (sampler
#    1.1 .. 6.5 us after the lm_head's end, the copy off the critical path).
#
# q3 (review clean-up: run_graph's capture branches merged, the unused 64-bit wgmma_e4m3_n16
#    removed, gemv_bulk's SASS byte for byte the same): golden CUDA 12/12, engine CUDA 4/4, GEMV
#    op tests 10/10; 1B 1423.5 / 1413.3 tok/s (one run, no A/B: a check, not a measurement).
