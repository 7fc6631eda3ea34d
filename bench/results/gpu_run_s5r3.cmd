# Session 5 run 3 (tensor-core bulk GEMV, the kept design; the ring test used a 40 KiB ring that cannot hold two stages and was fixed to 48 KiB after this run)
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='FusedCuda*:LinearCuda*' F_VARIANTS='QINFER_CUDA_GEMV_BULK=0;QINFER_CUDA_GEMV_BULK=1;QINFER_CUDA_GEMV_BULK_FLAGS=2;QINFER_CUDA_GEMV_BULK_SMEM_KIB=224' timeout 590 tools/gpu_run_all.sh 1235of
