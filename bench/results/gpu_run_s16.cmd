# Session 16 device runs (nvidia-h100-x1; scripts as run: gpu_run_s16qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TESTS="test_ops test_golden test_engine" BENCHES=gpu_attention
# tools/gpu_pack.sh build-f and run as
#   run command="bash .gpu_assets/s16qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s16qN.sh]
# Every bench JSON of run qN is in gpu_s16qN.json (keyed by file name).
# q1 (main + branch exp/prefill-hd64-3blocks merged): test_ops CudaAttention*:FusedDecodeCuda.*
#    18/18 (CudaAttention.PrefillAllCacheDtypes with the three-block tile shape), test_golden
#    *Cuda* 12/12, test_engine *Cuda* 3/3. 1B FP8 TTFT (qinfer bench --prompt-len P
#    --decode-len 8), QINFER_CUDA_PREFILL_TILE 1 (default: three blocks where the grid spans
#    four waves) against 0 (the 64-row kernel): P2048 BF16 7.40 / 7.60 ms, P32768 BF16 374.2 /
#    463.3, P32768 FP8 377.8 / 421.8. gpu_attention --prefill-only (8B dims, 2048 tokens):
#    BF16 171.2, FP8 183.1, F32 152.1 TFLOP/s.
