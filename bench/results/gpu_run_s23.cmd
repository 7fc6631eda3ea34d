# Session 23 device runs (nvidia-h100-x1), all on decode_layers_persistent
# (src/ops/cuda/decode_persistent.cu, QINFER_CUDA_PERSIST, off by default).
# Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real (nvcc 13.0), packed by
# TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops test_golden test_engine"
# BENCHES="gpu_golden" tools/gpu_pack.sh build-f. Run as
#   run command="bash gpu_run_s23q1.sh" (q1) / "bash gpu_run_s23q8.sh" (q2-q8, the same script
#   edited between runs; each run's arms below) carry=[.gpu_assets/b.txz]
# Results: gpu_s23qN.json (every JSON of run N, by name), test_ops_s23qN.log (the op test's
# lines), ptrace_*_s23qN.log (tools/persist_trace.py over the phase stamps of an eager step's
# launch, 132 blocks; "latest" = the last block, the phase's critical path), timeline_*_s23q1.log
# (tools/cupti_timeline.py). Checkpoints: tools/gpu_make_random_fp8.py --static (1B: --shape 1b
# --layers 16; 8B: --layers 32). Batch 1: qinfer bench --prompt-len 128 --decode-len 256 (1B) /
# 128 (8B), BF16 KV cache; "off" = main's kernels (QINFER_CUDA_PERSIST=0).
#
# q1 (7583ece + counters fix): DecodePersistentCuda 2/2 (24 cases, the residual and caches
#    against the kernels it replaces: 0 to 3e-3). gpu_golden on/off: the static fixtures =cpu OK
#    both ways (they have head_dim 16: not this kernel's). Decode tok/s: 1B off 1,401.2 /
#    1,400.6 / 1,399.2, on 1,211.5 / 1,212.0 / 1,215.7, on with 1 KiB pieces 1,159.5; 8B off
#    310.3 / 310.4, on 285.4 / 286.0, 1 KiB pieces 212.5. CUPTI: the step is 4 kernels; the
#    persistent one 638.3 us (1B, 39.9 us a layer) and 3,153.3 us (8B, 98.5 us a layer).
# q2 (producer on a schedule cursor; options QINFER_CUDA_PERSIST_L2_AHEAD (stages prefetched
#    into L2 ahead of the ring) and _BARRIER=1 (fence.acq_rel + red.relaxed, relaxed polling)):
#    the op test failed one case (8B heads, FP8 cache, pos 40: residual 3.4e-2 after two layers;
#    the reference attention shared a split scratch; later runs test layer by layer). 1B: off
#    1,401.5 / 1,401.0, on 1,247.8 / 1,245.7, barrier 1,168.0 / 1,167.3, + L2 ahead 6
#    1,047.5 / 1,046.8, ahead 12 932.7 / 931.9; 8B: off 311.4, on 280.0, barrier 274.7, ahead 6
#    192.1, ahead 12 177.4. Traces: 1B 38.9 us a layer (attention: the last QKV block at 6.1 us,
#    merged codes at 15.1), 8B 99.9 (11.7 -> 30.1).
# q3 (the merge loads every split record at once; each phase's first epilogue operands before
#    its wait): 1B on 1,184.9 / 1,181.8 / 1,184.9 against off 1,397.9 / 1,396.6 / 1,396.5; 8B
#    275.1 / 275.1 against 309.9 / 310.0. The op test: 2 of 24 cases over 1e-2 after three
#    layers (drift of random W8A8 layers; the test then moved to layer-by-layer checks).
# q4 (QINFER_CUDA_PERSIST_FENCE=0: release reduction / acq_rel atomic instead of fence +
#    atomic; the items' stamps): the op test (layer by layer, one launch = one launch a layer
#    bit for bit) 2/2 both ways. 1B off 1,400.0 / 1,392.2, on 1,194.0 / 1,193.6, no fence
#    1,196.8 / 1,198.3; 8B off 311.2 / 311.2, on 277.8 / 275.9, no fence 275.9 / 276.3. Traces
#    (8B): the items' wait done 6-7 us after the last QKV block, P V 8 us later.
# q5 (QINFER_CUDA_PERSIST_IN_FLIGHT: stages requested and not landed): 1B off 1,394.8 /
#    1,398.0; 1 1,170.4 / 1,167.7; 2 1,159.2 / 1,182.8; 3 1,175.4 / 1,181.7; 4 1,180.9 /
#    1,183.9; 16 1,180.7 / 1,181.6; 1 KiB pieces 1,061.2 / 1,061.4. 8B off 310.0 / 311.0; 1
#    230.4 / 230.4; 2 270.0 / 269.9; 3 268.8 / 269.2; 4 269.0 / 269.0. No gain: not kept.
# q6 (the scores four threads a key, a quarter row each: the whole row spilled to local
#    memory): 1B off 1,400.6 / 1,386.4, on 1,236.8 / 1,237.3 (in flight 16: 1,235.6 / 1,241.4);
#    8B off 310.1 / 310.4, on 287.8 / 288.7 (16: 287.7 / 288.3). 8B attention 12.5 -> 26.3 us.
# q7 (the counters polled by thread 32, which has no loads in flight before a wait): 1B off
#    1,396.3 / 1,384.7, on 1,252.3 / 1,250.6; 8B off 310.8 / 309.4, on 287.4 / 285.6.
# q8 (the polling thread's whole warp loops, converged at the .aligned barrier): op test 2/2;
#    1B off 1,400.3 / 1,399.0, on 1,248.8 / 1,247.2; 8B off 310.5 / 310.2, on 285.1 / 284.4.
#    Traces: 1B 40.6 us a layer, 8B 99.2 (qkv 12-14 us, attention to merged codes 14.5 us, o
#    4.7, gate_up 39 (117 MB: the stream's rate), down 20.5 (59 MB), each grid-wide wait
#    1.6-3 us). ("o starts" stamps of q7-q8 are not usable: thread 0 reads the timer before the
#    barrier's end once it no longer polls.)
# After q8 the options that measured no gain (release atomics, in-flight limit, 1 KiB pieces)
# were removed from the code (their defaults stay: fence + atomic, no limit as in q1-q4 and
# q6's 16, 2 KiB pieces); the device had no time left to rerun the op test on that cleanup.
