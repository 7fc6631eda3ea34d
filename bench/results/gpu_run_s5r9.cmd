# Session 5 run 9, after moving the CUDA-event timing into src/ops/cuda/event_timing.h (measure.cc and the GPU benchmarks share it): qinfer bench's measured ceilings 3003 GB/s, 1178 TFLOP/s (as before), 1B decode 965.2 tok/s; gpu_attention --decode-only runs
BENCHES="gpu_golden gpu_kernels gpu_attention" tools/gpu_pack.sh build-f
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && timeout 300 tools/gpu_run_all.sh o; $B/bench/gpu_attention --decode-only --out $OUT/att.json
