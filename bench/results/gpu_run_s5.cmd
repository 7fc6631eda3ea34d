# Session 5 final runs (tree at commit c652f1c; tensor-core bulk GEMV on by default)
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
# run A: every CUDA op test, golden checkpoints, generate --device cuda vs cpu
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='*Cuda*:*CUDA*' TEST_TIMEOUT=480 timeout 595 tools/gpu_run_all.sh 13c
# run B: kernel bench, 8B latency (P=128, P=2048), offline throughput (FP8 KV), 1B latency, A/B of the GEMV
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && KV_DTYPES=fp8 F_VARIANTS='QINFER_CUDA_GEMV_BULK=0;QINFER_CUDA_GEMV_BULK=1' timeout 595 tools/gpu_run_all.sh 257of
