# Session 9 device runs (H100), the tree of commit add8823 (async engine steps) plus the test edits named below.
# Binaries: BENCHES="gpu_golden gpu_kernels" tools/gpu_pack.sh build-f (packs test_ops, test_golden, test_engine), carried as
# .gpu_assets/b.txz, unpacked with `tar xJf .gpu_assets/b.txz -C .gpu_assets`, B=.gpu_assets/b.
# r1: engine / golden tests on the GPU (first version of the engine test: its prompts overran max_model_len 96), golden
#   (unchanged: dense 3.9e-7..1.5e-5, W8A8 2.5-3.8e-2, greedy = cpu = hf), 1B decode 1132.2 tok/s async:
tools/gpu_run_all.sh e3o
# r2: test_golden *Cuda* under QINFER_CUDA_GRAPHS=0 / _FUSED_DECODE=0 / _ATTN_TC=0 / _PDL=0 / _GENERIC=1 (the pre-existing
#   PromptLogitsBatchAndGreedy failure: every CudaRunner variant fails, GENERIC passes), then the 1B A/B
#   (-> gpu_1b_latency_async_{on,off}_h100_s9.json; the same 16 first tokens both ways):
for A in on off on off; do $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 --async-scheduling $A --out $OUT/bench_1b_async_$A.json; done
#   1128.8 (on) 1111.4 (off) 1129.1 (on) 1093.5 (off) tok/s
# r3: engine GPU test (F32 and BF16 caches, async vs synchronous: 4/4 pass), golden, 8B latency and offline, async on (auto) then
#   off (-> gpu_test_engine_h100_s9r3.log, gpu_golden_h100_s9r3.log, gpu_8b_*_s9.json):
NPROMPTS=512 KV_DTYPES=fp8 tools/gpu_run_all.sh e357
$B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 128 --async-scheduling off
$B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 128
$B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts 512 --input-len 1000 --output-len 1000 --max-concurrency 256 --kv-cache-dtype fp8 --async-scheduling off
#   8B batch 1: 283.2 / 281.9 tok/s async, 281.6 off (same tokens); prefill 2048: 39.03 ms;
#   offline 512 x 1000/1000, C 256, FP8 KV: 11,816 output tok/s async (ITL 19.75 ms), 11,350 off (ITL 20.61 ms)
# r4, r5: test_golden LlamaGoldenCuda.PromptLogitsBatchAndGreedy with an F32 cache over block sizes 4 / 8 / 16 and three
#   scenes (prompt A alone on blocks 0..5, alone on scattered blocks 0 8 2 6 3 5, batched after prompt B): prefill logits
#   match transformers everywhere; greedy decode diverges from token 2 on in "scattered" at block sizes 4 and 8 and in
#   "batched" at 4, 8 and 16; it matches with QINFER_CUDA_GENERIC=1 (r2).
timeout 60 $B/tests/test_golden --gtest_filter='*Cuda*Prompt*tied*'
# r5b: a diagnostic test (not kept) comparing the GPU's F32 cache with the CPU model's after a scattered prefill: the
#   prefill's positions 8-15 were missing from block 8 (fill_meta's rows list over the block tables).
# r6: the fix: PromptLogitsBatchAndGreedy passes on all four fixtures, golden unchanged (-> gpu_golden_h100_s9r6.log):
tools/gpu_run_all.sh e3
# r7: with LlamaGoldenCuda.PrefillWritesItsOwnBlocks and the engine test (restored: 02cd7e1 had dropped it by mistake):
#   12/12 LlamaGoldenCuda, 3/3 CudaSampling (-> gpu_test_engine_h100_s9r7.log):
tools/gpu_run_all.sh e
# r8: branch exp/tc-rope (db02422): attention tests incl. CudaAttentionTc.FusedRopeMatchesRopeKvWriteBitForBit (16/16 pass),
#   golden F32 / BF16 / FP8 caches (the tiny fixtures' values as in session 7), 8B and 1B latency, A/B of the fused RoPE
#   (-> gpu_tc_rope_ab_h100_s9r8.log): 1B 1124.5 / 1123.9 fused vs 1142.7 / 1141.2 separate; 8B 274.5 / 274.4 vs 274.8 / 274.7
TEST_FILTER='CudaAttentionTc.*:CudaAttention.*' TEST_TIMEOUT=200 F_VARIANTS='QINFER_CUDA_ATTN_TC_ROPE=1;QINFER_CUDA_ATTN_TC_ROPE=0;QINFER_CUDA_ATTN_TC_ROPE=1;QINFER_CUDA_ATTN_TC_ROPE=0' tools/gpu_run_all.sh 13b5of
# r9: review refactor (PinnedStaging shared by UploadRing and the sampler): 12/12 LlamaGoldenCuda, 3/3 CudaSampling, golden
#   unchanged, 1B 1125.9 tok/s async / 1112.5 synchronous:
tools/gpu_run_all.sh e3o
for A in on off; do $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 --async-scheduling $A; done
# r10-r11: bench latency with QINFER_CUDA_GENERIC=1 failed in sample_rows ('logits is on cpu', also before this session); after
#   the fix it samples on the host: generic 626.0 / 605.9 tok/s (on / off, same 16 tokens), runner 1195.1 / 1162.2 (P=32, D=16,
#   same 16 tokens as each other; the generic path's prefill picks another first token on this random model):
for A in on off; do QINFER_CUDA_GENERIC=1 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 32 --decode-len 16 --async-scheduling $A; $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 32 --decode-len 16 --async-scheduling $A; done
