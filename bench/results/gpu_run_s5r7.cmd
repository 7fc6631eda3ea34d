# Session 5 run 7 (tree at 7df2590): small-concurrency engine throughput with the tensor-core bulk GEMV off / on
tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && timeout 200 tools/gpu_run_all.sh 5
for C in 4 8; do for V in 0 1; do QINFER_CUDA_GEMV_BULK=$V $B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts $((4*C)) --input-len 128 --output-len 256 --max-concurrency $C --kv-cache-dtype fp8 --out $OUT/bench_8b_tp_c${C}_bulk${V}.json; done; done
