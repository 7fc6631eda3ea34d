# Session 14 device runs (nvidia-h100-x1, fresh machine each; scripts as run: gpu_run_s14rN.sh,
# r4 reran gpu_run_s14r3.sh on the fixed build). Binaries: cmake -DQINFER_CUDA=ON
# -DCMAKE_CUDA_ARCHITECTURES=90a-real (nvcc 13.0, CUTLASS 4.2 headers), packed by
# TESTS="test_ops test_golden test_engine" BENCHES=gpu_attention tools/gpu_pack.sh build-f.
# "head" = apps/qinfer built from commit 964e20c (session 13's final tree) in the same run.
# Latency: qinfer bench --prompt-len 128 --decode-len 128 (8B) / 256 (1B), random FP8
# checkpoints from tools/gpu_make_random_fp8.py (32 layers 8B shape, 16 layers 1B shape).
# r1: first cut, one gemv_bulk_kernel instantiation holding the RoPE epilogue (sincosf, cache
#     slot lookups at each tile's start) and a second experiment, the decode attention's split
#     merge in the o projection's GEMV prologue (QINFER_CUDA_GEMV_COMBINE; no combine kernel).
#     test_ops: new FusedDecodeCuda tests pass (bit-equal to the kernels they replace);
#     test_golden / test_engine *Cuda* 12/12, 3/3. Every GEMV slowed: 8B base 247.4 / 247.1
#     (session 13: 295.5), rope 233.9, merge 240.6, both 228.3; QINFER_CUDA_GEMV_CARVEOUT=1
#     (max shared-memory carveout for the GEMV) no change (228.2, 247.0) -> lat_*_s14r1.json,
#     timeline_8b_b1_s14r1.* (both on).
# r2: the epilogue and the merge in kernel instantiations of their own (template), the merge's
#     loads in one burst: 8B base 296.7 / 295.5, rope 277.5 / 277.6, merge 286.2 / 287.7,
#     both 268.1 / 268.3 (8 splits 266.1); 1B base 1195.0 / 1197.1, both 1129.4 / 1130.9
#     (2 / 4 splits 1124.7 / 1134.9); timelines with both on and off -> *_s14r2.*.
#     The merge was dropped here (slower in both runs).
# r3: RoPE operands from rope_prepare (cos / sin and the cache slot once a step, loaded at
#     each tile's start): 8B base 295.1 / 294.9, rope 277.9 / 277.8, head 295.8 / 295.1; 1B
#     base 1189.5 / 1190.0, rope 1174.0 / 1172.7, head 1186.9 / 1184.0 -> *_s14r3.*.
#     Timeline: the QKV GEMV with the epilogue 21.5 us a layer against 12.0 (a 64-bit division
#     a row in the producer lane's copy loop).
# r4 (final code: the producer walks the RoPE row map without divisions): test_ops
#     FusedDecodeCuda.* + FusedCuda.{BulkGemv,LinearFromF32,MlpFromF32}* 4/4, test_golden
#     *Cuda* 12/12, test_engine *Cuda* 3/3; 8B rope 301.4 / 300.8 vs base 296.0 / 294.9 vs
#     head 296.0 / 295.3; 1B rope 1205.2 / 1203.1 vs base 1190.3 / 1192.0 vs head 1186.9 /
#     1188.1; timeline (traced 299.5): QKV GEMV + epilogue 11.1-11.5 us a layer, against
#     12.0 + rope_kv_write 3.4-4.2 -> *_s14r4.*.
# r5 (final RoPE code, ring 160 KiB): sweeps with one setting for every GEMV: 8B default
#     300.2 / 300.9, one split 292.5 / 291.2, 2 splits 292.4 / 291.6, 8 splits 300.7 / 300.0,
#     QINFER_CUDA_GEMV_BULK_KIB=128 277.1 / 277.1, =192 302.2 / 302.2; 1B default 1201.0 /
#     1202.9, 2 splits 1184.5 / 1183.6, KIB 128 1223.2 / 1218.7, 192 1166.1 / 1167.2;
#     8B P2048 TTFT 39.33 ms; offline C256 12,854, C512 13,380 (11 preemptions) -> *_s14r5.json.
# r6 (the ring sized by the bytes a block streams: <= 256 KiB -> 128 KiB budget, else 192):
#     test_ops FusedDecodeCuda.* + FusedCuda.* + LinearCuda.LlamaShapes 7/7, test_golden
#     *Cuda* 12/12, test_engine *Cuda* 3/3; 8B rule 301.3 / 299.3, all 192 301.9 / 302.6,
#     all 160 301.4 / 300.7; 1B rule 1221.2 / 1225.3, all 160 1200.5 / 1203.5 -> *_s14r6.*.
# r7 (review refactor: shared epilogue sum, rope_dim helper, checks moved up; the non-RoPE
#     gemv_bulk instantiations' SASS identical to r6's): test_ops FusedDecodeCuda.* +
#     FusedCuda.{BulkGemv,LinearFromF32,MlpFromF32}* 4/4, test_golden 12/12, test_engine 3/3;
#     8B rope 301.4 / 301.4 vs QINFER_CUDA_GEMV_ROPE=0 296.6 / 296.5; 1B rope 1222.0 / 1221.0
#     vs ROPE=0 1246.9 / 1238.8: with the 128 KiB rings the 1B is faster without the
#     epilogue (not measured in r6) -> *_s14r7.*.
