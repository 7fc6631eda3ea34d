# Session 10 device runs (H100 80GB HBM3, nvidia-h100-x1). Binaries from `TESTS=... BENCHES=gpu_golden tools/gpu_pack.sh build-f`,
# carried as .gpu_assets/b.txz; every run starts with: tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
# (and, outside gpu_run_all.sh, LD_LIBRARY_PATH=<dir of libcublasLt.so.13>:$PWD/$B/lib).
# r1: (no carry: failed to start the binaries; no result)
# r2: branch exp/l2-prefetch (commit on that branch): weights prefetched into L2 on a side stream (QINFER_CUDA_L2_PREFETCH
#   1 = o + gate_up's head once qkv has run, 2 = down + next qkv once o has run, 3 = both; _MB per branch) and the tensor-core
#   decode attention's splits merged by the last split block (QINFER_CUDA_ATTN_MERGE_LAST, default 1 on that branch).
#   17/17 CudaAttentionTc/FusedCuda/LinearCuda/OpsCuda tests; golden with prefetch 3 unchanged; 12/12 LlamaGoldenCuda +
#   3/3 CudaSampling with prefetch 3 (-> gpu_l2prefetch_mergelast_ab_h100_s10r2.log, gpu_golden_l2prefetch_h100_s10r2.log):
TEST_FILTER='CudaAttentionTc.*:FusedCuda*:LinearCuda*:OpsCuda*' TEST_TIMEOUT=240 F_VARIANTS='QINFER_CUDA_ATTN_MERGE_LAST=0;QINFER_CUDA_ATTN_MERGE_LAST=1;QINFER_CUDA_L2_PREFETCH=1;QINFER_CUDA_L2_PREFETCH=1 QINFER_CUDA_L2_PREFETCH_MB=40;QINFER_CUDA_L2_PREFETCH=3;QINFER_CUDA_L2_PREFETCH=2;QINFER_CUDA_ATTN_MERGE_LAST=0;QINFER_CUDA_L2_PREFETCH=3 QINFER_CUDA_L2_PREFETCH_MB=40' tools/gpu_run_all.sh 135of
QINFER_CUDA_L2_PREFETCH=3 $B/bench/gpu_golden --tol-fp8 5e-2 tests/golden/data/* tests/quant/data/fp8_*
E_FILTER='*Cuda*' QINFER_CUDA_L2_PREFETCH=3 tools/gpu_run_all.sh e
#   8B b1 (tok/s): combine kernel 287.0 / 286.1, merge-last 275.4; with merge-last: prefetch 1: 277.0, 1@40MB: 277.0, 3: 275.2,
#   2: 275.3, 3@40MB: 275.9. 1B: combine 1158.9 / 1158.5, merge-last 1156.4 (unsplit: no merge), prefetch 1: 1064.1,
#   1@40MB: 1064.5, 3: 1158.7, 2: 1158.7, 3@40MB: 1158.4.
#   CORRECTION (found in r6): the branch read these switches with env_switch, which takes only "0" and "1": modes 2 and 3 and
#   every _MB value fell back to the default, so "2" and "3" above ran without prefetch and "1@40MB" was 1@24MB. Modes 2 / 3
#   were measured for real in r7.
# r3: merge-last v2 (weights and l sums staged in shared memory, each output's loads over the splits in flight; bit for bit the
#   combine kernel: CudaAttentionTc 5/5 incl. the new bit-equality check) (-> gpu_mergelast_v2_ab_h100_s10r3.log):
TEST_FILTER='CudaAttentionTc.*' F_VARIANTS='QINFER_CUDA_ATTN_MERGE_LAST=0;QINFER_CUDA_ATTN_MERGE_LAST=1;QINFER_CUDA_ATTN_MERGE_LAST=0;QINFER_CUDA_ATTN_MERGE_LAST=1' tools/gpu_run_all.sh 15of
#   8B: 280.3 / 281.1 (combine) vs 278.7 / 279.3 (merge-last); 1B: 1143.4 / 1143.8 vs 1143.3 / 1143.9. Not kept (main keeps
#   the combine kernel; the code stays on exp/l2-prefetch).
# r4: offline, main + QINFER_CUDA_BF16_SPLIT_INPUT switch (an early form of 495ade5's lm_head change) (-> gpu_8b_offline_*_s10r4.json):
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256
QINFER_CUDA_BF16_SPLIT_INPUT=0 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256 --max-num-batched-tokens 8192
#   11,603.8 (base) / 11,889.7 (one BF16 GEMM for the lm_head) / 12,529.8 (C 512) / 11,612.2 (8192 tokens a step) output tok/s
# r5: commit 495ade5 (lm_head with BF16 inputs when the logits only pick tokens): LinearCuda/FusedCuda 8/9 (the new test's
#   n_out 3001 case has no cuBLASLt algorithm: the function rightly declined; the test now uses 3000), 12/12 LlamaGoldenCuda,
#   3/3 CudaSampling, golden unchanged, 8B b1 281.5 tok/s, prefill 2048 39.16 ms; offline (-> gpu_8b_offline_*_s10r5.json,
#   gpu_test_*_s10r5.log, gpu_golden_h100_s10r5.json):
TEST_FILTER='LinearCuda.*:FusedCuda.*' TEST_TIMEOUT=300 tools/gpu_run_all.sh 1e35
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256
QINFER_CUDA_LM_HEAD_EXACT=1 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 256
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 448
#   C 256: 12,172.1 (ITL 19.17 ms) vs 11,808.0 exact lm_head (ITL 19.77); C 512: 13,075.2 (ITL 30.87 ms, 11 preemptions,
#   KV 940,000 tokens); C 448: 11,686.7 (a second wave of 64 prompts runs alone)
# r6: main + QINFER_CUDA_ATTN_TC_FP8_BLOCKS (4 blocks per multiprocessor for the FP8 cache's tensor-core decode attention; read
#   with env_switch, so "4" fell back to 3: both arms of this run are the same kernel): CudaAttentionTc 5/5 twice; offline
#   C 512 13,092.0 / 13,067.3, C 256 12,173.6 / 12,181.1 output tok/s (-> gpu_8b_offline_c{256,512}_h100_s10r6.json: the same code twice).
# r7: the switches read with env_int. Branch exp/tc-fp8-4blocks (e86411d): CudaAttentionTc 5/5 at 4 blocks; gpu_attention
#   --decode-only, FP8 cache, ratio to the HBM copy rate, 4 vs 3 blocks: batch 256 ctx 1500 0.874 vs 0.856, ctx 1024 0.834 vs
#   0.820, batch 128 ctx 1500 0.836 vs 0.835, batch 32 ctx 1024 0.597 vs 0.645 (-> gpu_attention_tc_fp8_*blocks_h100_s10r7.log);
#   offline C 512: 13,140.5 (4 blocks) vs 13,154.8 (3) output tok/s (-> gpu_8b_offline_c512*_s10r7.json). Not kept.
#   Branch exp/l2-prefetch with env_int, QINFER_CUDA_ATTN_MERGE_LAST=0 in every arm, P=128 D=128 (-> gpu_l2prefetch_modes23_h100_s10r7.log):
#   1B 1147.2 (off) / 899.5 (2) / 933.5 (3) / 892.1 (2@48MB) / 1151.4 (off); 8B 281.1 / 228.4 / 231.9 / 220.3 / 281.6. Not kept.
QINFER_CUDA_ATTN_TC_FP8_BLOCKS=4 $B/tests/test_ops --gtest_filter='CudaAttentionTc.*'
for V in 4 3; do QINFER_CUDA_ATTN_TC_FP8_BLOCKS=$V $B/bench/gpu_attention --decode-only; done
for M in /tmp/llama1b_fp8 /tmp/llama8b_fp8; do for V in 0 2 3 "2 QINFER_CUDA_L2_PREFETCH_MB=48" 0; do env QINFER_CUDA_ATTN_MERGE_LAST=0 QINFER_CUDA_L2_PREFETCH=$V .gpu_assets/b2/qinfer_pf bench --model $M --prompt-len 128 --decode-len 128; done; done
QINFER_CUDA_ATTN_TC_FP8_BLOCKS=4 $B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512
$B/apps/qinfer bench --model $M --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency 512
# r8: main at 495ade5 + the test fix (n_out 3000): LinearCuda 4/4 incl. Bf16InputRoundsXAndRunsOneGemm, CudaAttentionTc 5/5
#   (-> gpu_test_ops_linear_h100_s10r8.log):
$B/tests/test_ops --gtest_filter='LinearCuda.*:CudaAttentionTc.*'
