# Session 18 device runs (nvidia-h100-x1; scripts as run: gpu_run_s18qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TESTS="test_ops test_golden test_engine" BENCHES=gpu_kernels
# tools/gpu_pack.sh build-f. Run as
#   run command="bash .gpu_assets/s18qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s18qN.sh]
# Results: gpu_s18qN.json (every bench JSON of the run, by name), timeline_*_s18qN.log.
#
# q1 (the decode attention's splits merged in a thread-block cluster, QINFER_CUDA_ATTN_CLUSTER=0
#    the combine kernel as before): test_ops CudaAttentionTc / FusedCuda / FusedDecodeCuda
#    13/13 (the cluster merge gives the combine kernel's bits), golden 12/12, engine 3/3.
#    Decode b1 tok/s, cluster / combine (same binary): 1B 1270.8, 1272.0, 1270.8 / 1245.0,
#    1244.2, 1245.1; 8B 301.7, 301.7 / 299.3, 298.7. Forced splits with the cluster
#    (QINFER_CUDA_ATTN_SPLITS): 1B 2 1257.4, 8 1275.0; 8B 2 295.2, 8 305.0 (planned: 4).
#    Offline 512 x 1000/1000 C256 FP8 KV: 13050.4 / 13029.2. Traced: 1B step 773.9 us on the
#    GPU, attention 5.4-5.5 us a layer (was 2.4 + 3.1 combine), 8B attention 7.7-8.1.
