# Session 5 run 8, after the review clean-up (shared attention launch fields, shared GPU attention test setup, GEMV flag check where the env is read): all 25 CUDA op tests, golden, 1B decode 969.0 tok/s
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='*Cuda*:*CUDA*' TEST_TIMEOUT=480 timeout 590 tools/gpu_run_all.sh 13o
