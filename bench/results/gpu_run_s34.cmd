# Session 34 (H100 80GB HBM3, nvidia-h100-x1): where the 8B offline run's GPU waits on the host.
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=... BENCHES=none
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s34qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s34qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
#
# q1: main's behaviour (1bb522a + the new step trace and a QINFER_CUDA_LT_WORKSPACE_KB knob,
#    since removed), 8B offline C 512: 14,728.5 / 14,701.4 output tok/s; with QINFER_CUDA_LT_WORKSPACE_KB=0
#    14,671.1 / 14,693.4 (no gain: not kept as a default). Traced with the GPU records, the
#    runtime API records (tools/cupti_trace QINFER_CUPTI_API, new) and the engine's step trace
#    (QINFER_STEP_TRACE, new), joined by tools/step_gaps.py (new; stepgaps_8b_c512_s34q1.log,
#    steps_8b_c512_s34q1.csv.gz): GPU idle 1.030 s of the 35.05 s window, 0.619 s of it in 235
#    gaps >= 200 us. Causes found: (a) every fourth prefill step spent 60-80 ms in cuBLASLt on
#    the host (no runtime API call in the hole, between the lm_head's cudaGetDevice calls): the
#    BF16 lm_head's row count changed every step; (b) 28 cudaFreeHost calls (24-71 ms each, a
#    device-wide wait) as page-locked staging grew in the first 224 steps; (c) each new decode
#    graph in the tail (steps 1133-1329) synchronized before its capture (22 waits, the GPU
#    idle 5-30 ms each); (d) 54 steps that land the samples before scheduling (the cache
#    running short, steps 960-1000): 136 ms.
# q2: (a) eager lm_head rows rounded up to 64, (b) outgrown staging kept, not freed, (c) capture
#    while the eager first step runs. Engine CUDA 5/5, golden CUDA 12/12. Alternated with q1's
#    binary: 14,711.3 / 14,753.4 / 14,771.6 against 14,662.3 / 14,702.6 output tok/s (+0.4 %).
#    Traced: GPU idle 0.584 s (was 1.030), gaps >= 200 us 0.185 s in 100 (was 0.619 in 235);
#    left: 0.37 s of 1-5 us gaps between eager kernels (cuBLASLt's launches and 4-byte memsets,
#    without programmatic dependent launch) and 81 ms after the 54 landings.
# q3: branch exp/gate-up-silu-epilogue (not kept): gate_up on a CUTLASS GEMM (128 x 128
#    cooperative or 64 x 128 ping-pong, fast accumulation) whose register epilogue pairs each
#    gate value with its up value (weight rows permuted in 64-row gate / up groups) and writes
#    down's FP8 codes under its static scale; bench/gpu_gemm --silu against the engine's two
#    kernels (cuBLASLt to BF16 + silu_mul_act_bf16). Codes: 96.7 % equal, the rest neighbouring
#    codes (max 0.071 of max |h|). Time (us, two kernels / fused 128 x 128): 128 rows 52.9 /
#    56.2, 256 64.4 / 74.1, 512 99.9 / 123.4, 1,024 194.7 / 240.8, 2,048 423.4 / 497.2, 2,560
#    517.3 / 625.5. The fused kernel loses at every size: CUTLASS's mainloop trails cuBLASLt's
#    (at 2,048 rows cuBLASLt's gate_up runs at the 8192^3 rate, 319.5 us), and the register
#    epilogue (scales from global memory, 2-byte stores, unoverlapped in the cooperative tile)
#    adds ~24 us at 512 rows.
# q4: main's final state (0da2e25: the eager buffers alone round their logits rows to lm_head
#    groups). Engine CUDA 5/5, golden CUDA 12/12; 8B offline C 512 14,886.8 / 14,838.3 output
#    tok/s (11 preemptions).
