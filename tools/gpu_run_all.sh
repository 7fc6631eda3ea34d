#!/usr/bin/env bash
# One device-machine session of engineer F's GPU work, writing everything under $OUT:
#   1. GPU op tests (test_ops, TEST_FILTER, default *Cuda*; TEST_TIMEOUT s) -> test_ops.log
#   2. kernel benchmark (gpu_kernels)          -> gpu_kernels.json / .log
#   3. golden checkpoints, GPU vs CPU vs HF    -> gpu_golden.json / .log
#   4. 8B-shaped random FP8, 4 layers, vs transformers fake-quant reference (same json)
#   5. 8B-shaped random FP8, 32 layers: qinfer bench latency (P=128, P=2048) and throughput
#   7. with 5: qinfer bench throughput through the engine ($NPROMPTS (512) prompts, 1000 in /
#      1000 out, each concurrency of $CONCURRENCY (256; 512 = every prompt at once, offline))
#   6. step 3 again with every linear on the GEMV (QINFER_CUDA_GEMV_ONLY=1), for diagnosis
#   a. attention kernels (gpu_attention)   -> gpu_attention.json / .log
#   b. step 3 with the BF16 and FP8 KV caches (looser tolerance: the cache rounds K/V);
#      GOLDEN_B_ENV=QINFER_CUDA_ATTN_TC=1 runs its decode attention on tensor cores
#   g. with 5: decode latency again with QINFER_CUDA_GRAPHS=0, QINFER_CUDA_PDL=0, QINFER_CUDA_GENERIC=1
#   v. with 5: 2048-token prefill with each session-3 prefill switch off
#   o. Llama-3.2-1B-shaped FP8 (16 layers): decode latency at batch 1
#   p. after 5: Nsight Compute per-kernel times of an 8B prefill (2048) and of decode steps
#   c. generate --device cuda against --device cpu (tests/e2e/test_cli_generate.py -k device)
#   f. after 5 (and o): batch-1 decode A/B of switches (F_VARIANTS, ';'-separated; default
#      QINFER_CUDA_ATTN_LATENCY=0 / 1)
#   t. after 5 (and o): CUPTI kernel timelines (tools/cupti_trace, packed by gpu_pack.sh) of
#      batch-1 decode (8B, 1B) and of the 8B at concurrency 256 (T_PROMPTS prompts of 1000 / 1000),
#      with tools/cupti_timeline.py's tables -> trace_*.csv.gz / timeline_*.json / .log
#   e. engine and golden tests on the GPU (test_golden / test_engine, E_FILTER, default *Cuda*):
#      async vs synchronous engine steps, the GPU sampler; the checkout's golden data and the
#      packed Llama 3.1 tokenizer through $QINFER_SOURCE_DIR / $QINFER_SHARED_DIR -> test_engine.log
#   q. after 5: Nsight Compute metrics (DRAM throughput, issue activity, stalls) of the decode GEMVs
# Binaries come prebuilt (tools/gpu_pack.sh -> .gpu_assets/b, carried; B= overrides); the checkpoints are generated here, on local
# disk, and never leave the machine. Usage: tools/gpu_run_all.sh [steps, default 12345]
# Commands as run for bench/results: tools/gpu_run_all.sh 1234 | 12436 | 4365 | 57 | 125
set -u
STEPS=${1:-12345}
B=${B:-.gpu_assets/b}
L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$L:${LD_LIBRARY_PATH:-}:$PWD/$B/lib  # carried: cpp-httplib and its deps
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee $OUT/gpu.txt
case $STEPS in *1*) timeout ${TEST_TIMEOUT:-400} $B/tests/test_ops --gtest_filter="${TEST_FILTER:-*Cuda*:*CUDA*}" 2>&1 | tee $OUT/test_ops.log | tail -15;; esac
case $STEPS in *e*)
  S=$PWD/.gpu_assets/shared/models/llama3.1-tokenizer
  mkdir -p $S && gunzip -c $B/tok/tokenizer.json.gz > $S/tokenizer.json && cp $B/tok/*.json $S/
  for t in test_golden test_engine; do
    QINFER_SOURCE_DIR=$PWD QINFER_SHARED_DIR=$PWD/.gpu_assets/shared timeout ${TEST_TIMEOUT:-400} \
      $B/tests/$t --gtest_filter="${E_FILTER:-*Cuda*}" 2>&1 | tee -a $OUT/test_engine.log | tail -6
  done;; esac
case $STEPS in *2*) timeout 200 $B/bench/gpu_kernels --out $OUT/gpu_kernels.json 2>&1 | tee $OUT/gpu_kernels.log;; esac
G=""
case $STEPS in *4*)
  python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8_l4 --layers 4 --reference 2>&1 | tail -1
  python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8w_l4 --layers 4 --reference \
    --weight-only 2>&1 | tail -1
  G="/tmp/llama8b_fp8_l4 /tmp/llama8b_fp8w_l4";; esac
case $STEPS in *3*)
  timeout 300 $B/bench/gpu_golden --tol-fp8 5e-2 --out $OUT/gpu_golden.json tests/golden/data/* \
    tests/quant/data/fp8_* $G 2>&1 | tee $OUT/gpu_golden.log;; esac
case $STEPS in *a*) timeout 200 $B/bench/gpu_attention ${ATTN_ARGS:-} --out $OUT/gpu_attention.json 2>&1 | tee $OUT/gpu_attention.log;; esac
case $STEPS in *b*)
  env ${GOLDEN_B_ENV:-QINFER_CUDA_GOLDEN_B=1} timeout 300 $B/bench/gpu_golden --kv-dtype BF16 --tol-dense 1e-2 --tol-fp8 5e-2 --out $OUT/gpu_golden_kv_bf16.json \
    tests/golden/data/* tests/quant/data/fp8_* $G 2>&1 | tee -a $OUT/gpu_golden.log
  env ${GOLDEN_B_ENV:-QINFER_CUDA_GOLDEN_B=1} timeout 300 $B/bench/gpu_golden --kv-dtype F8_E4M3 --tol-dense 5e-2 --tol-fp8 5e-2 \
    --out $OUT/gpu_golden_kv_fp8.json tests/golden/data/* tests/quant/data/fp8_* 2>&1 | tee -a $OUT/gpu_golden.log;; esac
case $STEPS in *6*)  # diagnosis: every linear through the GEMV; FP8 scales in our epilogue
  QINFER_CUDA_GEMV_ONLY=1 timeout 300 $B/bench/gpu_golden --out $OUT/gpu_golden_gemv_only.json \
    tests/quant/data/fp8_* $G 2>&1 | tee -a $OUT/gpu_golden.log
  QINFER_CUDA_FP8_EPILOGUE=1 timeout 300 $B/bench/gpu_golden --out $OUT/gpu_golden_fp8_epilogue.json \
    tests/quant/data/fp8_* 2>&1 | tee -a $OUT/gpu_golden.log;; esac
case $STEPS in *5*)
  python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 2>&1 | tail -2
  M=/tmp/llama8b_fp8
  if [ -f $B/tok/tokenizer.json.gz ]; then  # carried by gpu_pack.sh, for the engine benchmark
    gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
  fi
  timeout 150 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 \
    --out $OUT/bench_8b_latency_p128.json 2>&1 | tee $OUT/bench.log
  timeout 150 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 32 \
    --out $OUT/bench_8b_latency_p2048.json 2>&1 | tee -a $OUT/bench.log
  case $STEPS in *g*)
  QINFER_CUDA_GRAPHS=0 timeout 150 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 64 \
    --out $OUT/bench_8b_latency_p128_nographs.json 2>&1 | tee -a $OUT/bench.log
  QINFER_CUDA_PDL=0 timeout 150 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 64 \
    --out $OUT/bench_8b_latency_p128_nopdl.json 2>&1 | tee -a $OUT/bench.log
  QINFER_CUDA_GENERIC=1 timeout 150 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 64 \
    --out $OUT/bench_8b_latency_p128_generic.json 2>&1 | tee -a $OUT/bench.log;; esac
  case $STEPS in *v*)  # prefill switches of session 3 (each off alone)
  for V in QINFER_CUDA_BF16_GATE_UP=0 QINFER_CUDA_REG_CACHE=0; do
    env $V timeout 150 $B/apps/qinfer bench --model $M --prompt-len 2048 --decode-len 8 \
      --out $OUT/bench_8b_latency_p2048_${V%=*}_off.json 2>&1 | tail -4 | tee -a $OUT/bench.log
  done;; esac
  case $STEPS in *7*)
  for KVD in ${KV_DTYPES:-bf16}; do
  for C in ${CONCURRENCY:-256}; do
  timeout 300 $B/apps/qinfer bench --model $M --mode throughput --num-prompts ${NPROMPTS:-512} \
    --input-len 1000 --output-len 1000 --max-concurrency $C --kv-cache-dtype $KVD \
    --out $OUT/bench_8b_throughput_kv_${KVD}_c$C.json 2>&1 | tee -a $OUT/bench.log
  done
  done;; esac;; esac
case $STEPS in *o*)  # Llama-3.2-1B shape, decode at batch 1
  python3 tools/gpu_make_random_fp8.py --out /tmp/llama1b_fp8 --shape 1b --layers 16 2>&1 | tail -1
  timeout 120 $B/apps/qinfer bench --model /tmp/llama1b_fp8 --prompt-len 128 --decode-len 256 \
    --out $OUT/bench_1b_latency_p128.json 2>&1 | tee -a $OUT/bench.log;; esac
case $STEPS in *p*)  # per-kernel GPU time (Nsight Compute, one metric, clocks and caches left alone)
  NCU="ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv"
  # 8B prefill of 2048 tokens: the warm-up forward's ~400 kernels.
  [ "${NCU_PREFILL:-420}" = 0 ] || timeout ${NCU_TIMEOUT:-60} $NCU --launch-count ${NCU_PREFILL:-420} $B/apps/qinfer bench --model /tmp/llama8b_fp8 \
    --prompt-len 2048 --decode-len 2 > $OUT/ncu_prefill.csv 2> $OUT/ncu_prefill.err
  # 8B decode steps (graph kernel nodes): past 6 prefills of 128 tokens.
  timeout ${NCU_TIMEOUT:-60} $NCU --launch-skip ${NCU_SKIP:-2400} --launch-count ${NCU_DECODE:-400} \
    $B/apps/qinfer bench --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 6 \
    > $OUT/ncu_decode.csv 2> $OUT/ncu_decode.err;; esac
case $STEPS in *q*)  # after 5: why the decode GEMVs stop short of HBM speed (Nsight Compute metrics)
  MET=gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,sm__inst_issued.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__average_warp_latency_issue_stalled_long_scoreboard.ratio
  timeout ${NCU_TIMEOUT:-60} ncu --clock-control none --cache-control none \
    --kernel-name regex:gemv --launch-count 12 --metrics $MET --csv $B/apps/qinfer bench \
    --model /tmp/llama8b_fp8 --prompt-len 128 --decode-len 3 > $OUT/ncu_gemv.csv 2>&1;; esac
case $STEPS in *f*)  # A/B of switches at batch 1 (8B and 1B)
  for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do
    [ -d $M ] || continue
    IFS=';' read -ra VS <<< "${F_VARIANTS:-QINFER_CUDA_ATTN_LATENCY=0;QINFER_CUDA_ATTN_LATENCY=1}"
    for V in "${VS[@]}"; do
      T=$(basename $M)_$(echo $V | tr ' =' '__')
      env $V timeout 120 $B/apps/qinfer bench --model $M --prompt-len ${F_PROMPT:-128} --decode-len 128 \
        --out $OUT/bench_$T.json 2>&1 | grep -E "decode tok/s" | sed "s/^/$T /" | tee -a $OUT/bench.log
    done
  done;; esac
case $STEPS in *t*)  # kernel timelines through the CUPTI injection library
  INJ="CUDA_INJECTION64_PATH=$PWD/$B/cupti/libcupti_trace.so"
  for M in /tmp/llama8b_fp8 /tmp/llama1b_fp8; do
    [ -d $M ] || continue
    T=$(basename $M)
    env $INJ QINFER_CUPTI_OUT=$OUT/trace_${T}_b1.csv ${T_ENV:-} timeout 120 $B/apps/qinfer bench \
      --model $M --prompt-len 128 --decode-len 64 --out $OUT/bench_${T}_traced.json 2>&1 | grep -E "decode tok/s|cupti" | sed "s/^/$T traced /" | tee -a $OUT/bench.log
    python3 tools/cupti_timeline.py $OUT/trace_${T}_b1.csv --positions --out $OUT/timeline_${T}_b1.json > $OUT/timeline_${T}_b1.log 2>&1
    tail -25 $OUT/timeline_${T}_b1.log
  done
  if [ -d /tmp/llama8b_fp8 ] && [ "${T_PROMPTS:-256}" != 0 ]; then  # concurrency 256: steps in mid-decode
    env $INJ QINFER_CUPTI_OUT=$OUT/trace_8b_c256.csv QINFER_CUPTI_SKIP=${T_SKIP:-150000} QINFER_CUPTI_MAX=${T_MAX:-40000} \
      timeout 200 $B/apps/qinfer bench --model /tmp/llama8b_fp8 --mode throughput --num-prompts ${T_PROMPTS:-256} \
      --input-len 1000 --output-len 1000 --max-concurrency 256 --kv-cache-dtype fp8 \
      --out $OUT/bench_8b_c256_traced.json 2>&1 | tail -3 | tee -a $OUT/bench.log
    python3 tools/cupti_timeline.py $OUT/trace_8b_c256.csv --positions --out $OUT/timeline_8b_c256.json > $OUT/timeline_8b_c256.log 2>&1
    tail -25 $OUT/timeline_8b_c256.log
  fi
  gzip -f $OUT/trace_*.csv;; esac
case $STEPS in *c*)  # generate / perplexity on the GPU vs the CPU (tests/e2e, tiny random model)
  # tests/e2e/tiny_llama.py reads the tokenizer from ../shared beside the checkout (not carried).
  T=../shared/models/llama3.1-tokenizer
  if [ ! -f $T/tokenizer.json ] && [ -f $B/tok/tokenizer.json.gz ]; then
    mkdir -p $T && gunzip -c $B/tok/tokenizer.json.gz > $T/tokenizer.json
    cp $B/tok/tokenizer_config.json $B/tok/generation_config.json $T/
  fi
  (cd tests/e2e && QINFER_BIN=$PWD/../../$B/apps/qinfer timeout 200 python3 -m pytest -x -q \
    test_cli_generate.py -k "device" 2>&1 | tail -5) | tee $OUT/test_cli_device.log;; esac
