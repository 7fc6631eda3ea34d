# Session 21 device runs (nvidia-h100-x1; scripts as run: gpu_run_s21qN.sh). Binaries: cmake
# -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real (nvcc 13.0), packed by
# TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops test_golden test_engine"
# BENCHES="gpu_kernels gpu_golden [gpu_gemm]" tools/gpu_pack.sh build-f. Run as
#   run command="bash .gpu_assets/s21qN.sh" carry=[.gpu_assets/b.txz, .gpu_assets/s21qN.sh]
# Results: gpu_s21qN.json (every JSON of the run, by name); sums_*_s21qN.log from
# tools/cupti_sums.py (the whole offline run under the CUPTI tracer, time by kernel advance).
# Checkpoint: tools/gpu_make_random_fp8.py --layers 32 --static (8B shape, static per-tensor
# FP8 activations with calibrated input_scale), offline = qinfer bench --mode throughput
# --num-prompts 512 --input-len 1000 --output-len 1000 --kv-cache-dtype fp8 --max-concurrency C.
#
# q1 (main at 2256dd4, session 20's code): where the offline time goes. C 256: 13,254.9 traced,
#    13,261.5 untraced output tok/s; C 512: 13,877.4 / 13,818.4 traced (11 preemptions).
#    sums_8b_c256_s21q1.log: span 39.07 s, busy 38.34 s; the 1,741 decode graphs 14.86 ms each
#    (attention 288.6 us a layer = 63 %, gate_up 61.6, o + down 2 x 26.5, qkv 16.9, lm_head
#    453 us a step, silu_mul_act 9.93, rms_norm_act 2 x 2.93, rope_kv_write 5.66, to_act 2.40);
#    eager (prefill chunks with decode rows) 11.25 s: GEMMs 6.6 s, decode attention 1.94,
#    prefill attention 0.82, silu 0.68, rms 0.45, rope 0.31. C 512 decodes eagerly (graphs
#    stop at 256 sequences; session 11 r4 measured 512-wide graphs within noise).
# q2 (branch exp/gemm-clusters: FP8 GEMM tiles in thread-block clusters with TMA multicast,
#    128x64 m2 / n2 / c4 and 128x224 m2, QINFER_CUDA_FP8_GEMM_SWAP): LinearCuda 5/5 (the new
#    tiles against the formula); gpu_gemm_s21q2.log: no cluster tile beats its single-CTA tile
#    (down 256 rows: 128x64 35.5 us, m2 36.0, n2 36.9, c4 63.8; o 256: 12.1 / 12.2 / 12.9 /
#    21.1; gate_up 256: 128x224 67.4, m2 68.0). Offline C 256: base 13,163.8 / 13,159.5, c4
#    12,560.6, n2 13,159.7, m2 13,144.7, 224m2 13,109.8. Not kept (the branch has the code).
# q3 (main + the element-wise static producers, silu_mul and to_act; the new test had a bug
#    (asserted codes for a width that takes F32 slots), fixed for q4): FusedCuda / LinearCuda /
#    FusedDecodeCuda 12/13 (the buggy test), golden 12/12, engine 4/4. Offline C 256: flat
#    13,392.8 / 13,365.0 against QINFER_CUDA_FLAT_STATIC=0 13,300.7 / 13,292.9; traced
#    (sums_8b_c256_flat_s21q3.log) silu 7.25 us a layer in the graphs (9.93 in q1), 52.6 in the
#    eager steps (72.8); to_act 2.89 (2.40: slower) / 11.69 (14.86), so to_act went back to a
#    block a row for q4.
# q4 (final code: silu_mul_act only): FusedCuda / LinearCuda / FusedDecodeCuda 13/13 (with
#    FusedCuda.StaticProducersMatchRowProducersBitForBit), golden 12/12, engine 4/4, gpu_golden
#    on the five FP8 fixtures =cpu OK. Offline C 256: 13,235.2 against 13,130.3
#    (QINFER_CUDA_FLAT_STATIC=0); C 512: 13,786.0 against 13,711.2 (11 preemptions each).
