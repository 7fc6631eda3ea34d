# Session 17 device runs (nvidia-h100-x1; scripts as run: gpu_run_s17qN.sh, each on the
# machine as found). Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real
# (nvcc 13.0), packed by TESTS="test_ops test_golden test_engine" BENCHES=gpu_kernels
# tools/gpu_pack.sh build-f; "old" is session 16's qinfer binary (same GEMV and embedding code
# as e1bbcac), carried as .gpu_assets/old.txz. Run as
#   run command="bash .gpu_assets/s17qN.sh"
#       carry=[.gpu_assets/b.txz, .gpu_assets/old.txz, .gpu_assets/s17qN.sh]
# Results: gpu_s17qN.json (every bench JSON of the run, by name), timeline_*_s17qN.log.
#
# q1 (branch exp/gemv-mlp-fused, 038f912): the decode MLP as one kernel (gemv_mlp_kernel: gate_up,
#    a grid barrier, down; one ring). test_ops FusedCuda / LinearCuda / FusedDecodeCuda 11/11,
#    golden 12/12, engine 3/3. Decode b1 tok/s, fused / two launches (same binary,
#    QINFER_CUDA_GEMV_MLP_FUSED=0) / old: 1B 1191.0, 1193.8 / 1211.4, 1213.3 / 1221.0, 1223.4;
#    8B 281.1, 281.2 / 302.7, 302.8 / 300.1, 300.0. Traced 8B per layer (advance, us): fused MLP
#    69.0-69.7 against gate_up 43.5 + down 20.5; qkv 15.0 against 13.7, attention 4.3 against
#    3.4. Not kept.
# q2 (main + the embedding kernel's loads in flight + QINFER_CUDA_GEMV_RING_KIB): golden 12/12,
#    engine 3/3. Decode b1 tok/s, new / old: 1B 1224.6, 1220.4 / 1218.7, 1216.9; 8B 302.9,
#    302.9 / 300.4, 300.6. Traced 8B: embedding 4.5 us advance (was 9.3, q1). gate_up on a 3-stage
#    ring beside o (4096x28672:113) 279.1 / 279.8: two gate_up blocks share a multiprocessor and
#    down starts 49 us early on the free ones (timeline_8b_gu3_s17q2.log); gate_up 4 stages + o 2
#    (4096x28672:146,4096x4096:80) 302.2 / 301.0.
# q3 (QINFER_CUDA_GEMV_SMEM: a GEMV's blocks ask for just over half a multiprocessor, so two
#    of the same grid cannot share one; one GEMV at a time). Decode b1 tok/s: 1B base 1220.6,
#    1220.4; qkv 1216.9, 1222.1; o 1225.8, 1219.6; gate_up 1241.2, 1241.5; qkv + gate_up
#    1244.5, 1241.9. 8B (qkv / o; gate_up asks for 188 KiB already): base 302.1, 302.3; qkv
#    302.2, 301.5; o 300.4, 301.2.
# q4 (gate_up alone on its multiprocessor by default, QINFER_CUDA_GEMV_ALONE=0 the old way):
#    test_ops FusedCuda / LinearCuda / FusedDecodeCuda 11/11, golden 12/12, engine 3/3. 1B
#    1247.5, 1252.0, 1249.8 against 1221.0, 1226.6, 1225.5; 8B 301.9, 302.0 against 302.1,
#    301.5. Traced 1B: 780.6 against 798.7 us of GPU time a step; down starts 2.9 us before
#    gate_up ends against 15.5 (it ran on the multiprocessors gate_up's doubled blocks left).
# q5 (the q4 binary, 1B): default 1247.8, 1247.3; down on a 2-stage ring beside gate_up
#    (8192x2048:84) 1181.0, 1179.9; qkv or o also alone (QINFER_CUDA_GEMV_SMEM 115840)
#    1248.3, 1245.5 / 1248.9, 1249.3.
