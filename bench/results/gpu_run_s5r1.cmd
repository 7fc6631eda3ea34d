# Session 5 run 1 (tree: bulk-copy GEMV with CUDA-core consumers, commit-less working tree; see gpu_run_s5r3.cmd for the kept design)
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='FusedCuda*:LinearCuda*' F_VARIANTS='QINFER_CUDA_GEMV_BULK=0;QINFER_CUDA_GEMV_BULK=1;QINFER_CUDA_GEMV_BULK_SMEM_KIB=224' NCU_TIMEOUT=50 timeout 580 tools/gpu_run_all.sh 125ofq
