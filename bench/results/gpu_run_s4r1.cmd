# session 4, device call 1 (H100), tree at commit 863c678 (binaries: tools/gpu_pack.sh build-f with BENCHES="gpu_golden gpu_attention")
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && tools/gpu_run_all.sh 15onc; QINFER_CUDA_VEC_PRODUCERS=1 QINFER_CUDA_MERGE4=1 NCU_TIMEOUT=50 tools/gpu_run_all.sh p
# step c failed before running (test fixture missing on the device: FileNotFoundError in shutil); all else ran.
