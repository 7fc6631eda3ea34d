# session 4, device call 4 (H100): the final defaults (vectorized producers, attention latency path at batch 1,
# BF16 gate_up from 256 prefill rows), tree at commit of "Decode attention latency path (helper)..."
tools/gpu_pack.sh build-f (BENCHES="gpu_golden gpu_attention"), then on the device:
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && TEST_FILTER='CudaAttention*:OpsCuda*' KV_DTYPES=fp8 tools/gpu_run_all.sh 1357o
