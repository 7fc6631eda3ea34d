# Session 12 device runs (H100 80GB HBM3, nvidia-h100-x1; every run on a fresh machine). Binaries from
# `TESTS=... BENCHES=... tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz with the run's script; every run starts with:
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32; python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16
# (+ the packed Llama 3.1 tokenizer copied into both)
T="$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8"
#
# r1: two changes to the tensor-core decode attention, each behind a switch for the A/B:
#   QINFER_CUDA_ATTN_EARLY (AttnBatch::past_ready, set by the runner for decode tokens): the kernel reads the metadata,
#   the block table and every key before the token's own ahead of its griddepcontrol.wait, and the own row after it;
#   for pure decode steps rope_kv_write lets the attention launch before it waits and tabulates cos / sin ahead too.
#   QINFER_CUDA_ATTN_KVH_FAST: grid (n_head_kv, n_tok, n_split), a token's KV heads side by side.
#   test_ops CudaAttentionTc* + CudaAttention.*: 16/16 pass, including the new ReadsAheadOfRopeKvWrite (rope_kv_write held
#   200 us before writing each token's own row over a NaN-poisoned slot) (-> gpu_test_ops_attn_h100_s12r1.log).
#   Batch 1 decode, tok/s, early 1 vs 0 (twice each, alternating): 8B 286.3 / 286.3 vs 281.2 / 280.3; 1B 1172.3 / 1169.7
#   vs 1119.4 / 1121.3 (-> gpu_{8b,1b}_latency_p128_early*_h100_s12r1.json).
#   gpu_attention --decode-only, FP8 tensor-core kernel, ratio to the copy rate, kvh_fast 1 vs 0: batch 128 ctx 1500 0.836
#   vs 0.819, batch 256 ctx 1024 0.808 vs 0.794, ctx 1500 0.840 vs 0.834 (BF16 0.988 vs 0.980)
#   (-> gpu_attention_decode_kvh*_h100_s12r1.{log,json}).
#   Offline output tok/s, kvh_fast 1 vs 0 (early on in both): C 256 12,450.5 vs 12,333.7; C 512 13,180.9 vs 13,050.5
#   (-> gpu_8b_offline_c*_kvh*_h100_s12r1.json). Both switches default to 1.
bash .gpu_assets/r1.sh   # the script: test_ops filter, gpu_attention x2, latency x8, throughput x4 as above
#
# r2 (gpu_run_s12r2.sh): (a) QINFER_CUDA_GEMM_SPLITK=2, an experiment (its diff: gpu_run_s12r2_splitk_experiment.diff,
#   not kept): the heuristic's FP8 algorithm with CUBLASLT_ALGO_CONFIG_SPLITK_NUM=2 where 128 x 128 tiles leave half the
#   SMs idle (o and down at <= 256 rows). cublasLtMatmulAlgoCheck refused every shape (status 15, not supported)
#   (-> gpu_8b_offline_c256_splitk2_h100_s12r2.log). (b) QINFER_CUDA_ATTN_SPLITS=N (the decode graphs' split count forced)
#   at batch 1 with the early reads of r1, decode tok/s (-> gpu_{8b,1b}_latency_p*_s*_splits_h100_s12r2.json):
#   8B P 128: planned (1) 286.4, 1: 290.3, 2: 289.0, 4: 294.4, 8: 292.1; P 1024: planned (16) 280.1, 1: 227.0, 2: 253.1,
#   4: 273.3, 8: 281.3; P 4096: planned 265.1, 1: 135.1, 2: 183.1, 4: 224.6, 8: 255.0.
#   1B P 128: planned (1) 1194.2, 1: 1196.5, 2: 1177.8, 4: 1187.7; P 1024: planned 1115.1, 1: 913.3, 2: 1023.2, 4: 1108.8.
# r3 (gpu_run_s12r3.sh): FP8 decode attention with two KV heads a unit (rows of 256 bytes, half the units; bit for bit
#   the one-head kernel at the same split count). test_ops CudaAttentionTc* 6/6 (each case also with pairs: same bits,
#   and the reference at the planned split count) (-> gpu_test_ops_attn_h100_s12r3.log).
#   gpu_attention --decode-only, pairs at every batch (QINFER_CUDA_ATTN_PAIR_MIN_TOK=1) vs never (0), ratio to the copy rate:
#   batch 256: 0.870 vs 0.829 (ctx 1024), 0.894 vs 0.854 (1500); batch 128: 0.713 vs 0.789, 0.738 vs 0.845, 0.923 vs 0.908
#   (8192); batch 32 and 1 worse (-> gpu_attention_decode_pairmin*_h100_s12r3.*).
#   Offline output tok/s, pairs from 32 tokens vs never: C 256 12,823.1 vs 12,642.7; C 512 13,514.5 vs 13,286.7
#   (-> gpu_8b_offline_c*_pair*_h100_s12r3.json). 8B b1 P 128 planned vs 4 splits, alternating: 285.9 / 286.8 vs
#   295.3 / 296.4 (-> gpu_8b_latency_p128_splits*_h100_s12r3.json).
#   Kept: pairs when they fill two waves of resident blocks (n_tok x n_head_kv / 2 >= 2 x 132 x 3: batch >= 198 at 8 KV
#   heads); the split model prices the combine's fixed part at 1.5 us (was 3.5) and keeps a tile per warp (4 splits at
#   batch 1 over 256 keys, the 1B unsplit).
# r4 (gpu_run_s12r4.sh): the final code. TEST_FILTER='CudaAttention*' tools/gpu_run_all.sh 1e3b: test_ops 17/17, test_golden
#   *Cuda* 12/12, test_engine *Cuda* 3/3; golden (F32 cache) gpu~cpu 3.9e-7..1.5e-5 dense, 3.1e-6..3.8e-2 W8A8, greedy
#   equal; BF16 / FP8 caches: session 7's numbers to the digit (-> gpu_run_all_h100_s12r4.log, gpu_golden*_h100_s12r4.json).
#   8B b1 P 128: 295.5 / 296.5 tok/s; 1B b1: 1185.0 / 1183.3; 8B P 1024: 281.0; prefill 2048: 39.08 ms; offline C 256
#   12,766.9 (ITL 18.19 ms, 0 preemptions), C 512 13,449.6 (ITL 29.81 ms, 11 preemptions)
#   (-> gpu_{8b,1b}_latency_*_h100_s12r4.json, gpu_8b_offline_c*_h100_s12r4.json).
