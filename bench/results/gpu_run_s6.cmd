# Session 6 runs on the H100 (binaries: tools/gpu_pack.sh build-f, BENCHES="gpu_golden gpu_kernels gpu_attention"
# unless noted; each line ran on the device as `tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && ...`)
# r1-r3: the decode producers in the tensor-core GEMV's epilogue (branch exp/gemv-epilogue, not merged):
#   r1 had two bugs (a 4-byte static shared flag over the 227 KiB ring; test widths not multiples of 64), fixed for r2/r3
TEST_FILTER='FusedCuda.GemvEp*:FusedCuda.Bulk*' F_VARIANTS='QINFER_CUDA_GEMV_EPILOGUE=0;QINFER_CUDA_GEMV_EPILOGUE=1;QINFER_CUDA_GEMV_EPILOGUE=0 QINFER_CUDA_GEMV_BULK_SMEM_KIB=100 QINFER_CUDA_GEMV_BULK_FLAGS=2;QINFER_CUDA_GEMV_EPILOGUE=1 QINFER_CUDA_GEMV_BULK_SMEM_KIB=100 QINFER_CUDA_GEMV_BULK_FLAGS=2;QINFER_CUDA_GEMV_EPILOGUE=0 QINFER_CUDA_GEMV_BULK_SMEM_KIB=110;QINFER_CUDA_GEMV_EPILOGUE=1 QINFER_CUDA_GEMV_BULK_SMEM_KIB=110' timeout 590 tools/gpu_run_all.sh 15of   # r3 -> gpu_ab_h100_s6r3.log
# r4-r5: knock-out timing (uncommitted diagnostic QINFER_CUDA_SKIP in run_layers: bit 1 attention, 2 to_act, 4 both
#   rms_norm_act, 8 silu_mul_act, 16 the layer GEMVs; decode steps of <= 8 tokens only; outputs are garbage, times are not).
#   r4 read the mask with env_switch (0/1 only), so only SKIP=1 was real there; r5 parsed it as an integer.
F_VARIANTS='QINFER_CUDA_SKIP=0;QINFER_CUDA_SKIP=1;QINFER_CUDA_SKIP=2;QINFER_CUDA_SKIP=4;QINFER_CUDA_SKIP=8;QINFER_CUDA_SKIP=15;QINFER_CUDA_SKIP=16;QINFER_CUDA_SKIP=31;QINFER_CUDA_GEMV_BULK_FLAGS=1;QINFER_CUDA_SKIP=15 QINFER_CUDA_GEMV_BULK_FLAGS=1' timeout 590 tools/gpu_run_all.sh 5of   # r5
# r6: producers cut over a cluster of 8 blocks per decode row (branch exp/cluster-producers, not merged)
TEST_FILTER='FusedCuda*:LinearCuda*:OpsCuda*' F_VARIANTS='QINFER_CUDA_CLUSTER_PRODUCERS=0;QINFER_CUDA_CLUSTER_PRODUCERS=1;QINFER_CUDA_CLUSTER_PRODUCERS=0;QINFER_CUDA_CLUSTER_PRODUCERS=1' timeout 590 tools/gpu_run_all.sh 135ofc
# r7: decode attention paths at batch 1 (tree at 46110e5, BENCHES="gpu_golden"), prompt 128 then 1024
F_VARIANTS='QINFER_CUDA_ATTN_TC=0;QINFER_CUDA_ATTN_TC=1;QINFER_CUDA_ATTN_LATENCY=0;QINFER_CUDA_FUSED_DECODE=0;QINFER_CUDA_ATTN_TC=0' timeout 590 tools/gpu_run_all.sh 5of; F_PROMPT=1024 F_VARIANTS='QINFER_CUDA_ATTN_TC=0;QINFER_CUDA_ATTN_TC=1;QINFER_CUDA_FUSED_DECODE=0' timeout 300 tools/gpu_run_all.sh f
# final (tensor-core decode attention at every batch size, the merged tree): every CUDA op test, golden (F32, BF16, FP8 KV),
#   8B latency P=128 / P=2048, 1B latency, A/B of QINFER_CUDA_ATTN_TC, generate --device cuda vs cpu
TEST_FILTER='*Cuda*:*CUDA*' TEST_TIMEOUT=480 F_VARIANTS='QINFER_CUDA_ATTN_TC=0;QINFER_CUDA_ATTN_TC=1' timeout 595 tools/gpu_run_all.sh 13b5ofc
