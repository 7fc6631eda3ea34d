# Session 22 device runs (nvidia-h100-x1; the device was lent only late in the session).
# Binaries: cmake -DQINFER_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a-real (nvcc 13.0), packed by
# TOKENIZER_DIR=../shared/models/llama3.1-tokenizer TESTS="test_ops test_golden test_engine"
# BENCHES="gpu_golden" tools/gpu_pack.sh build-f (with tools/cupti_trace/build.sh). Run as
#   run command="bash tools/gpu_run_attn_o.sh" carry=[.gpu_assets/b.txz] (that script is now
#   kept only as gpu_run_s22q2.sh, which reruns it as it stands)
# (the script as run: gpu_run_s22q2.sh). Results: gpu_s22q2.json (every JSON of the run, by
# name), timeline_{1b,8b}_{off,on}_s22q2.log (tools/cupti_timeline.py over CUPTI traces).
# Checkpoints: tools/gpu_make_random_fp8.py --static (1B: --shape 1b --layers 16 --reference;
# 8B: --layers 32; 8B 4 layers --reference), batch-1 decode: qinfer bench --prompt-len 128
# --decode-len 256 (1B) / 128 (8B), BF16 KV cache.
#
# q1 (main at cea90ac): AttentionOCuda.MatchesAttentionThenStaticOProjection failed for every
#    shape but the 8B's: y was y0 (no partials added). attention_o put the slices' counters
#    after the partials, at an offset that depends on the shape, and zeroed the scratch only
#    when it was first allocated: the 1B shape that followed the 8B's found the 8B's partials
#    where its counters were, so no block was ever last. The attention outputs passed (rel <
#    3e-5 against double) everywhere. Fixed: the counters first, at a fixed place.
# q2 (the fix): AttentionOCuda 2/2, FusedDecodeCuda 2/2, CudaAttentionTc 7/7. gpu_golden on
#    and off the switch: the FP8 fixtures =cpu OK, the same metrics (the random static 1B and
#    8B-4-layer checkpoints show the usual chaos of random W8A8 models, rc=1 both ways).
#    Batch-1 decode (tok/s): 1B off 1,401.1 / 1,399.5 / 1,400.3, on 1,233.7 / 1,245.9 /
#    1,241.8, on with late weights 1,212.4 / 1,207.4 / 1,212.7; 8B off 310.3 / 309.5, on
#    296.8 / 297.7, late 291.7 / 293.6. Timelines (advance a layer, us): 8B off attention 8.10
#    + o 7.23 = 15.33, gate_up 43.87; on attention_o 16.5, gate_up 47.0. 1B off 4.13 + 3.17 =
#    7.30, gate_up 12.99; on 10.24, gate_up 14.62. Slower: not switched on.
