# Session 5 run 5: static per-tensor activation quantization on the GPU as x * (1 / s) (vLLM's static kernel, docs/FORMATS.md; the CPU already did so): all 25 CUDA op tests, golden, generate cuda = cpu
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='*Cuda*:*CUDA*' TEST_TIMEOUT=480 timeout 595 tools/gpu_run_all.sh 13c
