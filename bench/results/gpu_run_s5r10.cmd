# Session 5 run 10, after the two GPU attention test files share their cache-element encoding (tests/ops/cuda_attention_util.h): the 15 CudaAttention* tests pass
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='CudaAttention*' timeout 300 tools/gpu_run_all.sh 1
