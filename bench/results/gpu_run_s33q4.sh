#!/usr/bin/env bash
# Session 33 run q4: bench/gpu_overlap as committed (q1's measurement, with the streams, green
# contexts and events now released at the end), the 88 / 44 split at batch 512.
set -u
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:$PWD/$B/lib
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv | tee $OUT/smi.log
timeout 200 $B/bench/gpu_overlap --batch 512 --ctx 1500 --splits 64,88 --out $OUT/ov512.json 2>&1 | tee $OUT/ov512.log
echo "rc=${PIPESTATUS[0]} elapsed $SECONDS s"
cd $OUT && tar czf all.tgz --remove-files *
