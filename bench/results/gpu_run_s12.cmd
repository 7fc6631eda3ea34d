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
