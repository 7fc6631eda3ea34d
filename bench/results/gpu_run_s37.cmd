# Session 37 (H100 80GB HBM3, nvidia-h100-x1): three small levers for the 8B offline, each
# behind a switch for same-run A/B; one kept (the 128 x 192 qkv tile).
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="..." BENCHES="..."
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s37qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s37qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
#
# q1 (code 6250801: all three changes): op tests LinearCuda.Fp8Gemm* and CudaAttentionTc.* 9/9
#    (the new CudaAttentionTc.RotatesQueryOnLoad: the same output bits and cache bytes),
#    golden CUDA 13/13, engine CUDA 5/5. gpu_gemm, fast accumulation, us (ratio to the 8192^3
#    rate, 1,495 TFLOP/s): qkv at 384 rows cuBLASLt 24.3, 128x224 23.5, 128x192 21.4 (0.604);
#    at 512 25.1 / 24.5 / 23.8 (0.724); at 256 and 1,024 cuBLASLt stays best (15.6, 40.1).
#    8B offline 512 x 1000/1000 C 512 (output tok/s, a slower chip): both 14,961.3 / 14,924.5;
#    neither 14,909.6 / 14,882.7; tile only 14,959.6; RoPE on load only 14,882.6; both with
#    cuBLASLt's heuristic given no workspace 14,933.7. Kept: the tile (+0.3 %). Dropped: the
#    RoPE on load (branch exp/rope-q-attn) and the workspace switch.
# q2 (code 177b68d: tile + QINFER_CUDA_ATTN_L2P): cp.async's L2 prefetch-size hint on the
#    decode attention's cache copies. Kernel at 512 x 1,500 keys, FP8 cache: none 544.1 / 543.6
#    us, 256 B 544.8 / 544.6, 128 B 544.3 / 543.4. Offline 512 prompts: none 14,900.3 /
#    14,864.0, 256 B 14,859.8 / 14,827.2, 128 B 14,895.6 / 14,869.0. Dropped (branch
#    exp/attn-l2-hint).
# q3 (code 02b1acb, main's final engine code): the anchor's workload, 3,000 prompts C 512 util
#    0.9: 15,533.2 output tok/s with the tile, 15,551.0 without (QINFER_CUDA_TILE192=0), 21
#    preemptions each (a slower chip than session 36's q5, 15,667.0). The tile runs only in
#    steps of 257-512 rows; this workload's steady state is mostly mixed steps of more.
# q4 (main's final code): CUDA op suite 39/39, golden CUDA 13/13, engine CUDA 5/5.
