# Session 32 (H100 80GB HBM3, nvidia-h100-x1): the FP8 decode attention's instruction stream.
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=... BENCHES=...
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s32qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s32qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
#
# q1: gpu_attention --decode-only at batch 256 x 1,500 keys (the offline shape) and Nsight
#    Compute (--clock-control none) on decode_tc_kernel. FP8 pairs (HP 2): 295.4 us, DRAM 80.5 %
#    of peak (2.69 TB/s), 92.25 M warp instructions (960 a 16-key tile of two heads), issue
#    slots 32.6 % busy, 7.8 cycles between a warp's instructions; FP8 one head a unit 304.6 us
#    (78.1 %); BF16 530.3 us at 89.1 % (2.99 TB/s, the copy rate). The FP8 kernel is held by its
#    warps' instruction streams, not HBM: the SASS of its key loop spends ~30 instructions a
#    copied row (8 a lane a tile) on the block / slot / bounds arithmetic (integer divisions
#    compiled in for block sizes that are not powers of two).
# q2: a full tile's copies from one address computation (QINFER_CUDA_ATTN_FAST_ROWS=1, the new
#    default; 0 = the per-row path). Attention op tests 23/23. FP8 256 x 1500: 289.5 -> 281.1 us
#    (0.904 -> 0.929 of the copy rate), 256 x 1024 0.881 -> 0.911, 128 x 1500 0.856 -> 0.870;
#    BF16 and batches 1-4 unchanged. Nsight Compute: 61.27 M instructions (-34 %), 285.4 us,
#    DRAM 83.3 %. 8B offline 512 x 1000/1000, FP8 KV: C 256 13,773.4 -> 14,047.0 output tok/s
#    (ITL 16.94 -> 16.56 ms); C 512 14,455.5 -> 14,641.2 / 14,637.2 (28.05 -> 27.66).
# q3: main at 3bd031b traced (CUPTI, tools/cupti_sums.py; sums_8b_c{512,256}_s32q3.log). C 512:
#    35.09 s wall (14,591 output tok/s traced), 1,335 steps, nearly all eager (the decode batch
#    is above the graphs' buckets): decode attention 16.77 s (the run's 50.3 TB of FP8 K/V at
#    3.0 TB/s, the copy rate), layer + lm_head GEMMs ~12.6 s (gate_up ~1,440 TFLOP/s, o + down
#    ~1,290, qkv ~1,050), silu / rms / rope / to_act / sampling 2.73 s, prefill attention
#    0.93 s. C 256 (13,937): decode steps in graphs, attention 277 us a 256-row layer (0.91 of
#    the copy rate). One KV head a unit with fast rows at 256 x 1500: 0.893 (pairs 0.929-0.936).
# q4: pairs on three 8 KB stages a warp (24 KB, two blocks a multiprocessor;
#    QINFER_CUDA_ATTN_PAIR_STAGES=3 on a scratch build, not kept). Op tests 23/23 both ways.
#    256 x 1500: 0.945 / 0.948 against 0.935 / 0.936; Nsight Compute DRAM 83.4 % (the same as
#    two stages: in-flight bytes are not the limit). Offline C 256 13,982.0 against 13,956.5,
#    C 512 14,489.8 against 14,546.4: no gain, the code was dropped.
# q5: one set of activations for every decode graph (it was one set a graph slot, i.e. a batch
#    bucket x block-table width: ~180 MB each at 256 rows of the 8B), grown by powers of two
#    (the graphs recaptured), and QINFER_CUDA_GRAPH_MAX_BATCH (the largest batch with a graph,
#    256 as before). Engine CUDA 5/5, golden CUDA 12/12. With the bound at 512 the C 512 decode
#    steps run as graphs: 14,635.6 / 14,804.1 against 14,771.2 output tok/s at 256 (no gain:
#    the default stays 256); C 256 14,097.7; batch 1 8B 324.0, 1B 1,420.3 / 1,417.3 tok/s.
# q6: main as committed (d27c121). The C 256 decode graphs' attention in two splits merged in
#    clusters (QINFER_CUDA_ATTN_SPLITS=2) against the planned one: 13,923.8 / 13,905.0 against
#    14,139.0 / 14,152.8 output tok/s (ITL 16.73 / 16.75 against 16.44 / 16.43 ms). The plan
#    stands.
# q7: review clean-up, behaviour unchanged (the attention stage's address taken once for both
#    copy paths; one recapture condition for a moved cache or grown graph activations;
#    gpu_attention --tc-only prints "-" for the CUDA-core columns and leaves their JSON fields
#    out instead of timing nothing as 1e30 ms). Attention op tests 23/23, engine CUDA 5/5,
#    golden CUDA 12/12; tensor-core table: FP8 256 x 1500 0.917, 256 x 1024 0.897, 128 x 1500
#    0.862, BF16 256 x 1500 0.987 of the copy rate (this machine ~1.3 % under q2's on BF16 too;
#    the key loop's SASS is the same size, 1,328 against 1,321 static instructions).
