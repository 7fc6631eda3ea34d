# Session 33 (H100 80GB HBM3, nvidia-h100-x1): can the decode attention and the GEMMs overlap;
# where the offline run's GPU sits idle.
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=... BENCHES=...
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s33qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s33qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
#
# q1: bench/gpu_overlap (new): 32 layers of the 8B's FP8 GEMMs (qkv, o +=, gate_up, down +=)
#    and the FP8-cache decode attention at 512 x 1,500 keys. One stream, whole GPU: 732.7 us a
#    layer = attention 539.5 (2,916 GB/s, 0.970 of the copy rate) + GEMMs 187.5 (1,191
#    TFLOP/s). Two halves pipelined on two streams: 788.4 us (1.076 of serial). Green contexts
#    (cuGreenCtxCreate: the attention's stream on A multiprocessors, the GEMMs' on the other G):
#    a half's attention alone reaches 0.916 / 0.927 / 0.939 of the copy rate on 72 / 88 / 104
#    multiprocessors, but pipelined the layer takes 818.6 / 884.3 / 960.0 / 1,258.5 us at A = 64
#    / 72 / 88 / 104 (1.12-1.72 of serial). Without dependencies a half's attention and GEMM set
#    side by side take 474 us at 88 / 44 against 282 and 266 alone. The kernel timeline of the
#    88 / 44 arm (trace_overlap88_s33q1.csv.gz): next to the attention a GEMM kernel takes 2.5-2.7
#    times as long as alone (gate_up's 88.9 -> 238 us); the attention slows 2 %. Batch 256:
#    serial 411.9 us, pipelined 576.0 (88 / 44).
# q2: main (66114dc) 8B offline C 512: 14,813.4 untraced, 14,653.8 traced (11 preemptions).
#    tools/cupti_gaps.py (new) over the serving window: 34.84 s, GPU idle 0.935 s (2.68 %):
#    0.37 s in ~220,000 gaps of 1-5 us between eager kernels (cuBLASLt's 4-byte memsets before
#    its gate_up / o / down kernels add 66,336 of them), 0.51 s in 143 gaps over 1 ms (~3.5 ms
#    each, most before a step's metadata upload: the host was late), 0.06 s in two new-shape
#    warm-ups. Kernel sums in sums_8b_c512_s33q2.log, gaps in gaps_8b_c512_s33q2.log.
# q3: the engine landing its samples in flight only where the next step could preempt (a
#    Scheduler::may_preempt summing the running chunks' blocks, in place of "fewer blocks free
#    than sequences running"); not kept. This build against 66114dc (apps/qinfer_old),
#    alternated: 14,803.9 / 14,722.2 / 14,640.2 against 14,771.4 / 14,642.0 output tok/s, 11
#    preemptions in every run: no gain beyond the run-to-run spread, so the > 1 ms stalls have
#    another cause. Golden CUDA tests 12/12 (the engine tests' CPU cases there could not find
#    the tokenizer at this machine's compiled-in path; they pass here, 50/50).
# q4: bench/gpu_overlap as committed (streams, green contexts and events released at the end):
#    serial 731.0 us a layer, two streams 785.9 (1.075), green 64 / 68 819.6 (1.121), 88 / 44
#    964.1 (1.319; side by side 474.9 us against 280.8 and 266.1 alone): q1 reproduced.
# q5: the GPU benchmarks with their shared inputs in bench/gpu_bench_data.h (behaviour
#    unchanged): gpu_attention FP8 256 x 1,500 281.8 us (0.930 of the copy rate; session 32:
#    0.929), BF16 1.002; gpu_gemm at 256 / 512 rows, every CUTLASS tile within its bound of
#    cuBLASLt; at 512 rows of the 8B qkv 24.8 us (0.690 of the 8192^3 rate), o 15.7 (0.730),
#    gate_up 93.6 (0.854), down 44.4 (0.902); gpu_overlap 88 / 44: 962.5 us a layer (1.316).
# q6: review clean-up, behaviour unchanged (the 8B linear shapes in gpu_bench_data.h for
#    gpu_gemm and gpu_overlap; gpu_overlap's per-layer loops and side-by-side arm as helpers):
#    gpu_gemm at 512 rows, every tile checked (qkv 0.694, o 0.740, gate_up 0.863, down 0.915 of
#    the 8192^3 rate); gpu_overlap serial 730.7 us a layer, 88 / 44 960.9 (1.315).
