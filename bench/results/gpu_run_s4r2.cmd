# session 4, device call 2 (H100), tree at commit fdd4faa (tools/gpu_pack.sh build-f, BENCHES="gpu_golden gpu_attention")
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='FusedCuda.*:LinearCuda.*' F_VARIANTS="QINFER_CUDA_FUSED_GEMV=0;QINFER_CUDA_FUSED_GEMV=1" NCU_PREFILL=0 NCU_TIMEOUT=60 tools/gpu_run_all.sh 135ofpc
# (F_VARIANTS then still space-separated in the script: the same two runs)
