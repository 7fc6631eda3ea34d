tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
$B/bench/gpu_attention --prefill-only --out $OUT/attn_prefill.json 2>&1 | tail -15
NCU=$(find / -name ncu -type f -perm -u+x -not -path '/proc/*' 2>/dev/null | head -1); echo "ncu: $NCU"
[ -n "$NCU" ] && timeout 300 $NCU -k regex:prefill_kernel -c 2 --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section SchedulerStats $B/bench/gpu_attention --prefill-only > $OUT/ncu_prefill.txt 2>&1; tail -5 $OUT/ncu_prefill.txt
cd $OUT && tar czf all.tgz --remove-files *
