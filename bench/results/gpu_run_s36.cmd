# Session 36 (H100 80GB HBM3, nvidia-h100-x1): the offline 1000/1000 run on TensorRT-LLM's
# workload for its 15,220 tok/s anchor (perf-overview, "Reproducing Benchmarked Results": 3,000
# requests of 1,000 / 1,000 tokens queued at once, KV share 0.90 or, "in many cases", 0.95).
# Binaries built here (cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real, nvcc 13.0),
# packed by `TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS=" " BENCHES=" "
# bash tools/gpu_pack.sh build-f`, carried as .gpu_assets/b.txz; each run is
# `bash bench/results/gpu_run_s36qN.sh` on a fresh machine; its JSON and log tails are in
# gpu_s36qN.json. Checkpoints: tools/gpu_make_random_fp8.py --static (the 8B shape).
# Code: main at 4a65c71 (no engine change).
#
# q1: 1,536 prompts (three waves of 512) and the concurrency cap: C 512 15,430.2 output tok/s
#    (17 preemptions, 99.5 s); C 640 14,040.5 (296); C 768 13,635.6 (631); C 640 with 4,096
#    tokens a step 13,825.5 (333). Past 512 the 940,000-token cache preempts and recomputes
#    (and every step then lands its samples before scheduling: schedule 7-12 ms a step).
# q2: 3,000 prompts, C 512: 15,526.0 output tok/s at --gpu-memory-utilization 0.9 (940,000
#    tokens, 21 preemptions, 193.2 s); 15,545.0 at 0.95 (1,004,864 tokens, no preemption).
# q3: 3,000 prompts, C 512, 0.95, the step's token budget: 4,096 15,476.5 (no preemption);
#    8,192 15,256.5 (80 preemptions); 2,048 (q2) stays the best.
# q4: the mixed steps' attentions on two streams (new, QINFER_CUDA_MIXED_OVERLAP; code committed as
#    f9f8ada): engine CUDA tests 5/5, golden CUDA 13/13 (the new
#    LlamaGoldenCudaMixed: the same greedy tokens in every mode, BF16 and FP8 caches). 8B
#    offline 512 x 1000/1000 C 512, alternated: two streams, prefill queued first (the default)
#    15,094.5 / 15,063.6; one stream 15,026.5 / 15,003.9; decode queued first 15,069.3; side
#    stream at the greatest priority 15,039.1 output tok/s (11 preemptions each).
# q5: 3,000 prompts (the anchor's workload), C 512, 0.9: two streams 15,667.0, one stream
#    15,604.7 output tok/s (21 preemptions each).
# q6: main's final code (ae36af3: the switch clamped to 0-2): golden CUDA tests 13/13, engine
#    CUDA 5/5; one 8B offline 512 x 1000/1000 C 512 run 14,888.1 output tok/s (a slower chip:
#    see q7).
# q7: on q6's machine, alternated: two streams 14,831.8 / 14,905.3 against one stream
#    14,788.0 / 14,758.0 output tok/s (+0.6 %).
# q8: the CUDA op suite on main's final code (test_ops --gtest_filter='*Cuda*'): 39/39 passed.
