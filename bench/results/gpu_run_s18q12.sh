tar xJf .gpu_assets/b.txz -C .gpu_assets && export B=.gpu_assets/b && L=$(dirname "$(find / -name 'libcublasLt.so.13*' -not -path '/proc/*' 2>/dev/null | head -1)") && export LD_LIBRARY_PATH=$L:$PWD/$B/lib
python3 tools/gpu_make_random_fp8.py --out /tmp/llama8b_fp8 --layers 32 > $OUT/mk.log 2>&1
st() { python3 - "$1" <<'PY'
import struct,collections,sys
d=open(sys.argv[1],'rb').read(); n=len(d)//64
rs=[struct.unpack_from('<8Q',d,64*i) for i in range(n)]
c=collections.Counter(r[0]>>32 for r in rs)
rs=[r for r in rs if c[r[0]>>32]>100]
by=collections.defaultdict(list)
for r in rs: by[r[0]>>32].append(r)
ker=[]
for lid,v in by.items():
    v.sort(key=lambda r:r[2]); g=[[v[0]]]
    for r in v[1:]:
        if r[2]-g[-1][-1][2]>50000: g.append([])
        g[-1].append(r)
    if len(g)>4: ker.append((lid,g[4]))
ker.sort(key=lambda x:min(r[2] for r in x[1]))
prev_end=None
for lid,g in ker[4:10]:
    kind=(lid>>24)&0xff
    st=sorted(r[2] for r in g); en=max(max(r[2:]) for r in g)
    ref=prev_end
    f=lambda x:(x-ref)/1e3 if ref else 0
    print('  kind %3d blocks %3d start first %.2f med %.2f last %.2f end %.2f SMs %d'%(kind,len(g),f(st[0]),f(st[len(st)//2]),f(st[-1]),f(en),len(set(r[1] for r in g))))
    prev_end=en
PY
}
pr() { tag=$1; shift; env QINFER_CUDA_PROBE=1 QINFER_CUDA_PROBE_OUT=$OUT/probe_$tag.bin "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len $DL --out $OUT/lat_probe_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/probe $tag /"; st $OUT/probe_$tag.bin; python3 tools/probe_summary.py $OUT/probe_$tag.bin > $OUT/probe_$tag.log 2>&1; tail -6 $OUT/probe_$tag.log; gzip $OUT/probe_$tag.bin; }
M=/tmp/llama8b_fp8; DL=10; gunzip -c $B/tok/tokenizer.json.gz > $M/tokenizer.json; cp $B/tok/tokenizer_config.json $M/
pr 8b_q96 QINFER_CUDA_GEMV_RING_KIB=4096x6144:96
lat() { tag=$1; shift; env "$@" timeout 60 $B/apps/qinfer bench --model $M --prompt-len 128 --decode-len 128 --out $OUT/lat_${tag}.json 2>&1 | grep -iE "^decode tok/s|error" | sed "s/^/$tag /"; }
for r in 1 2; do lat 8b_base$r X=1; lat 8b_q96_$r QINFER_CUDA_GEMV_RING_KIB=4096x6144:96; done
cd $OUT && tar czf all.tgz --remove-files *
