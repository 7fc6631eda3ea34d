#!/usr/bin/env bash
# Session 33 run q1: can the decode attention and the FP8 GEMMs run side by side?
# bench/gpu_overlap at the offline shape (8B layers, FP8 K/V): serial, two streams of the whole
# GPU, and green contexts of A / G multiprocessors; batches 512 and 256 at 1,500 keys.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,driver_version --format=csv | tee $OUT/smi.log
timeout 250 $B/bench/gpu_overlap --batch 512 --ctx 1500 --splits 64,72,88,104 --out $OUT/ov512.json 2>&1 | tee $OUT/ov512.log
timeout 200 $B/bench/gpu_overlap --batch 256 --ctx 1500 --splits 88 --out $OUT/ov256.json 2>&1 | tee $OUT/ov256.log
# A kernel timeline of the 88 / 44 split (tools/cupti_trace): do the partitions' kernels overlap?
CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so QINFER_CUPTI_OUT=$OUT/trace_ov88.csv timeout 200 $B/bench/gpu_overlap --batch 512 --ctx 1500 --splits 88 2>&1 | tail -3
gzip $OUT/trace_ov88.csv
echo "elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
