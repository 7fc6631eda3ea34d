# Session 15 device runs (nvidia-h100-x1; scripts as run: gpu_run_s15qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0, CUTLASS 4.2 headers), packed by TESTS="test_ops test_golden test_engine"
# BENCHES=gpu_attention tools/gpu_pack.sh build-f and run as
#   run command="bash .gpu_assets/qN.sh" carry=[.gpu_assets/b.txz, (.gpu_assets/head.txz,)
#   .gpu_assets/qN.sh]
# "head" (q1, q2) = apps/qinfer of main at 9161005 (session 14's final tree): the same build
# with gemv_bulk.cu.o compiled from 9161005's source and relinked, run in the same run.
# Latency: qinfer bench --prompt-len 128 (q5 also 1024) --decode-len 128 (8B) / 256 (1B),
# random FP8 checkpoints from tools/gpu_make_random_fp8.py (32 layers 8B shape, 16 layers 1B).
# Every bench JSON of run qN is in gpu_s15qN.json ("decode_tok_s" by tag, "bench" in full);
# timelines (tools/cupti_timeline.py --positions) in timeline_<tag>_s15qN.log.
# q1 (branch exp/gemv-dynamic, first cut: the schedule's branches in the shared kernel, the
#    static producer loop rewritten): test_ops FusedDecodeCuda.* + FusedCuda.* +
#    LinearCuda.LlamaShapes 8/8 (new FusedCuda.BulkGemvDynamicScheduleGivesTheSameBits),
#    test_golden *Cuda* 12/12, test_engine *Cuda* 3/3, 8B greedy ids equal with
#    QINFER_CUDA_GEMV_DYN=0 / 100. 8B head 300.0 / 299.8, DYN 0 296.3 / 296.3, 100 297.0 /
#    296.3, 50 298.2 / 298.2, 25 286.8; 1B head 1222.4 / 1219.4, DYN 0 1226.6 / 1227.0, 100
#    1229.4 / 1227.5, QINFER_CUDA_GEMV_ROPE=0 1215.5 / 1211.9 (with DYN 100 1212.1 / 1215.1).
#    Timelines DYN 0 / 100: gate_up 46.1 -> 41.4-41.9 us a layer, down 20.0 -> 22.3-22.5, the
#    QKV GEMV (then also dynamic) 13.5 -> 15.2-15.5. Between steps (trace_d0): graph end +3.4
#    us sample_kernel (8.5 us), next graph's first kernel 10 us after it.
# q2 (exp/gemv-dynamic final: kDyn instantiations for x made / copied, never the RoPE GEMV;
#    the fixed-schedule kernels' SASS identical to head's but for constants): test_ops
#    FusedDecodeCuda.* + FusedCuda.{BulkGemv,LinearFromF32,MlpFromF32}* 5/5, test_golden 12/12,
#    test_engine 3/3, greedy ids equal DYN 0 / 100. 8B head 302.4 / 301.9, DYN 0 301.5 / 302.0,
#    100 300.8 / 301.4, 50 302.8 / 302.7, 75 301.3, 25 290.8, 100 with
#    QINFER_CUDA_GEMV_SMALL_RING_KB=500 (down's ring 128 KiB) 301.6 / 300.8, 0 with it 295.8 /
#    295.8; 1B head 1221.8 / 1220.9, DYN 0 1222.9 / 1224.2, 100 1215.7 / 1214.5, 50 1216.8 /
#    1220.1. Timeline DYN 100: gate_up 41.4-41.7, down 22.2-22.3, qkv 11.9, attention 6.0,
#    combine 2.2, o 7.8 us. Not merged.
# q3 (branch exp/gemv-whole-ring: QINFER_CUDA_GEMV_WHOLE_KB, a ring holding a block's whole
#    weight up to that many KB a block): test_golden 12/12 and test_ops 5/5 with
#    WHOLE_KB=256, greedy ids equal 0 / 256. 8B 0: 301.8 / 302.5, 140 (o) 303.2 / 303.3, 200
#    (o, qkv) 302.2 / 301.9; 1B 0: 1222.4 / 1223.9, 140 (down) 1192.2 / 1187.6. Not merged.
# q4 (main's code): 1B timeline (traced 1200.5; 802.7 us a step + 22.9 between): a layer qkv
#    6.0-6.6, decode_tc 2.5-2.9, combine 4.5-4.6, o 3.3, gate_up 14.5-14.7, down 7.4 us;
#    lm_head 162.6. 1 KiB pieces (QINFER_CUDA_GEMV_BULK_FLAGS=2) at
#    QINFER_CUDA_GEMV_BULK_KIB=76 / 100 / 128: 1B 998.9 / 995.1, 1014.4 / 1016.3, 1136.8 /
#    1126.0; KIB 110 (2 stages) 1188.8 / 1185.9; default 1212.4 / 1215.8. 8B FLAGS=2 240.6 /
#    240.6 against 300.4 / 300.7.
# q5 (main's code): decode attention splits. 1B P=128: default (8 at 512 keys) 1218.6 /
#    1218.3, QINFER_CUDA_ATTN_ONE_SPLIT=1 1222.9 / 1225.1, QINFER_CUDA_ATTN_SPLITS=2 1198.2 /
#    1203.2, 4 1223.9 / 1224.2; P=1024: default 1172.5 / 1155.7, one 982.8 / 986.4, four
#    1174.3 / 1174.3; timeline with one split (traced 1231.8): decode_tc 3.8-3.9 us a layer,
#    no combine. 8B P=128: default (4) 301.2 / 301.2, one 291.3 / 291.5, two 292.3 / 292.4.
# q6 (main's code): gpu_attention --prefill-only: BF16 140.8, FP8 142.2, F32 119.9 TFLOP/s
#    (2048 tokens, 8B dims); Nsight Compute on prefill_kernel<bf16, 128, 32, 3> ->
#    ncu_prefill_tile0_s15q6.txt (tensor pipe 24.5 %, IPC 1.66, 12 warps / SM, 0.62 eligible).
# q7 (prefill kernel with MT MMA tiles a warp, QINFER_CUDA_PREFILL_TILE 0 = 64 rows / 32 keys,
#    1 = 128 rows / 32 keys, 2 = 128 rows / 64 keys): CudaAttention.Prefill* for all three
#    shapes + Generic* 3/3; golden 12/12 with tile 1; greedy ids equal across tiles.
#    gpu_attention BF16 / FP8 TFLOP/s: tile 0 138.7, 141.7 / 134.4, 143.5; tile 1 187.7, 176.4
#    / 166.4, 163.4; tile 2 166.9, 157.8 / 162.8, 162.8. 8B TTFT P2048: tile 0 39.67 / 39.55,
#    1 38.68 / 38.94, 2 38.53 / 38.38; P8192: 232.97 / 212.52 / 213.36. Offline C256 FP8 KV:
#    12,990.8 / 12,997.8 / 12,994.9 output tok/s.
# q8 (final: tile 1 the default, tile 2 removed): test_ops CudaAttention* + FusedDecodeCuda.*
#    18/18, test_golden *Cuda* 12/12, test_engine *Cuda* 3/3. gpu_attention tile 1 / 0: BF16
#    168.7 / 147.2, FP8 165.8 / 143.6, F32 152.1 / 120.4. TTFT 8B P2048 37.86, 37.58 / 39.22,
#    39.05; P8192 207.55 / 227.07; P32768 1726.18 / 2024.87; 1B P2048 7.68, 7.68 / 7.89, 7.89;
#    P32768 424.60 / 468.75 ms.
# q9 (main at 1aa3c7d): long contexts, qinfer bench --prompt-len P --decode-len D
#    --kv-cache-dtype C: 1B P131072 FP8 TTFT 7467.83 ms, decode 412.4 tok/s (0.500 of roofline);
#    BF16 5683.90 ms, 330.2 (0.636); 1B P32768 FP8 517.36 ms, 800.5; 8B P32768 BF16 1707.41 ms,
#    190.4 (0.780); FP8 1877.41 ms, 207.5 (0.702); 8B P131072 FP8 23178.14 ms, 113.3 (0.627).
# q10 (FP8 caches staged by cp.async in attention_prefill): test_ops CudaAttention.Prefill* +
#    Generic* 3/3 (both tile shapes, F32 / BF16 / FP8), test_golden *Cuda* 12/12.
#    gpu_attention tile 1 / 0: BF16 169.7 / 147.0, FP8 188.5 / 153.0, F32 151.9 / 115.7.
#    1B P131072 FP8 5761.69 ms (410.9 tok/s), BF16 5716.03 (335.0); 8B P32768 FP8 1748.57
#    (207.6), BF16 1727.17 (190.1); 8B P2048 FP8 cache 37.89 ms; offline C256 FP8 KV
#    12,912.5 output tok/s.
# q11 (main at 73efc96): forced decode-attention splits (QINFER_CUDA_ATTN_SPLITS), batch-1
#    decode tok/s: 1B FP8 cache P32768 default 804.6, 32 868.5, 64 837.0, 128 723.6; P8192
#    default 1034.7, 64 961.0; 8B FP8 P8192 default 260.9, 32 266.2, 64 255.0, 128 225.3; BF16
#    P8192 default 253.5, 64 246.8; 8B FP8 P32768 default 209.0, 64 215.3, 128 194.1.
# q12 (split model with QINFER_CUDA_ATTN_SAT_BLOCKS, default 2; A/B against 1): test_ops
#    CudaAttentionTc* + CudaAttention.Decode*: PlansMeasuredChoices failed on the old
#    expectation (1B FP8 at 256 keys now 4 splits), the rest passed. gpu_attention --decode-only
#    k1 -> k2 (splits, us): BF16 b1 8192 19 -> 37, 22.1 -> 19.0; b32 8192 1 -> 3, 401.9 ->
#    365.3; b128 8192 1 -> 3, 1429.3 -> 1446.1; FP8 b1 8192 20.2 -> 19.0; b32 8192 207.1 ->
#    203.3; b128 8192 784.3 -> 778.6; other rows same plan. Decode tok/s k1 / k2: 1B FP8 P32768
#    802.3 / 869.6, P8192 1021.6 / 1029.7, BF16 P8192 976.6 / 993.7; 8B FP8 P8192 258.2 /
#    261.9, P32768 208.6 / 229.1, BF16 P8192 252.8 / 257.7, FP8 P128 299.5 / 298.2. Offline
#    C256 (k2) 12,904.6; 64 prompts x 4000 in / 500 out at C16, FP8 cache: 1,550.7 / 1,781.9
#    output tok/s.
# q13 (final, PlansMeasuredChoices updated): test_ops CudaAttention* + FusedDecodeCuda.* +
#    FusedCuda.{BulkGemv,MlpFromF32}* 20/20, test_golden *Cuda* 12/12, test_engine *Cuda* 3/3.
# q14 (final code): serving mixes, qinfer bench --mode throughput, SAT_BLOCKS 2 / 1: 128 x
#    1000 -> 500 at C64 FP8 cache 6,728.9 / 6,742.1 output tok/s; 128 x 2000 -> 300 at C64 BF16
#    3,430.7 / 3,304.4; 64 x 4000 -> 300 at C32 FP8 1,925.9 / 1,911.8.
# q15 (final code): 1B FP8 decode b1 P128 D256 with an FP8 cache (the model now plans 4 splits
#    at 256-512 keys, was 1): SAT_BLOCKS 2: 1214.0 / 1219.9, 1: 1218.0 / 1222.1 tok/s.
# q16 (branch exp/prefill-hd64-3blocks, first cut: QINFER_CUDA_PREFILL_TILE=2 forced three
#    128-row blocks a multiprocessor at head_dim 64): 1B TTFT tile 1 / tile 2: P2048 BF16
#    7.55, 7.55 / 7.76, 7.83 ms; P32768 BF16 424.59 / 372.89; P32768 FP8 428.84, 428.20 /
#    377.63, 377.90. (q17, the branch's final rule and its op test, could not start: the
#    session's device time ran out.)
