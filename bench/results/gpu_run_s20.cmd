# Session 20 device runs (nvidia-h100-x1; scripts as run: gpu_run_s20qN.sh). Binaries: cmake
# -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real (nvcc 13.0), packed by
# TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops test_golden test_engine"
# BENCHES="gpu_kernels gpu_golden" tools/gpu_pack.sh build-f (main at 880f0f7's code). Run as
#   run command="bash .gpu_assets/s20qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s20qN.sh]
# Results: gpu_s20qN.json (every JSON of the run, by name), timeline_*_s20qN.log.
# Checkpoints: tools/gpu_make_random_fp8.py --shape 1b --layers 16 / --layers 32 (8B), with
# --static for static per-tensor activations (calibrated input_scale), default FP8_DYNAMIC.
#
# q1 (static FP8 activations: the MLP as two GEMVs, gate_up writing down's codes; arms: d =
#    dynamic checkpoint, s = static checkpoint, so = static with QINFER_CUDA_GEMV_MLP=0, the
#    path static checkpoints took before): test_ops FusedCuda / FusedDecodeCuda / LinearCuda
#    12/12 (FusedCuda.MlpFromF32EqualsTheProducerPath with its static down cases), golden 12/12,
#    engine 4/4. tools/gpu_make_random_fp8.py --tiny --static --reference ran (CPU check).
#    Decode b1 tok/s, P=128, 1B (256 tokens): d 1306.4 / 1306.0 / 1312.1, s 1400.9 / 1401.0 /
#    1401.2, so 1291.7 / 1298.7 / 1292.5. 8B (128 tokens): d 305.0 / 304.0, s 313.6 / 311.5, so
#    301.3 / 303.1. Traced 1B (timeline_1b_{s,d}_s20q1.log), mean advance a layer (us), qkv /
#    attention / o / gate_up / down: s 5.46 / 4.00 / 3.22 / 12.89 / 7.66, step 704.5 us on the
#    GPU; d 5.96 / 4.12 / 3.77 / 13.33 / 9.03, step 752.0 us. The first 16 decode tokens of s
#    and so are the same (1B and 8B). gpu_golden: the static fixtures =cpu OK; the random 1B
#    static (16 layers) and 8B static (4 layers) against transformers' static fake-quant
#    reference: gpu~cpu 0.184 / 0.133, cpu~hf 0.110 / 0.074, greedy differs: the W8A8 random
#    model's known chaos (PERFORMANCE.md, "Correctness on the GPU": dynamic 0.11), see q2.
# q2 (same binary): gpu_golden with and without the new path (QINFER_CUDA_GEMV_MLP=0) on the
#    static fixtures, the 1B static and the 8B static 4-layer checkpoints: the same greedy ids
#    and the same metrics to every digit (1B gpu~cpu 0.183757, gpu~hf 0.174648; 8B 0.132866 /
#    0.132217). 8B decode b1 tok/s: d 304.4 / 304.6 / 303.6, s 312.6 / 312.6 / 311.1, so 301.0 /
#    302.2 / 300.7 (decode_ratio_to_roofline 0.838 for s). 8B prefill 2048 TTFT (ms): d 36.83 /
#    36.08, s 35.33 / 35.26. Traced 8B s (timeline_8b_s_s20q2.log): qkv 11.35 / attention 7.55
#    / o 7.21 / gate_up 43.85 / down 19.47 us a layer, step 3211.5 us on the GPU (s19 q2,
#    dynamic: 12.75 / 7.34 / 7.77 / 43.64 / 20.44, 3300.2).
# q3 (same binary): 8B offline 512 x 1000/1000, C 256, FP8 KV: static 13,124.5 output tok/s,
#    dynamic 12,925.4.
# q4 (review: down's arguments from bulk_args_from_f32, the codes flag hoisted; registers
#    unchanged): test_ops FusedCuda / FusedDecodeCuda / LinearCuda 12/12, golden 12/12, engine
#    4/4, gpu_golden on the five FP8 fixtures =cpu OK. 1B static decode b1: 1401.4 / 1399.5
#    against 1294.4 / 1290.5 with QINFER_CUDA_GEMV_MLP=0; the first 16 tokens the same.
