# Session 5 run 4: the tensor-core GEMV with the producers folded into it (linear_produced; measured slower: 8B 187.9 vs 247.9 tok/s, 1B 735.8 vs 906.7, and removed). The test step hit its 200 s timeout in FusedCuda.PrefillProducersAndBf16GateUp (not a failure).
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='FusedCuda*:LinearCuda*:CudaAttention*:OpsCuda*' F_VARIANTS='QINFER_CUDA_GEMV_PROLOGUE=0;QINFER_CUDA_GEMV_PROLOGUE=1;QINFER_CUDA_GEMV_BULK=0' timeout 590 tools/gpu_run_all.sh 135ofc
