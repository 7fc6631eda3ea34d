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
