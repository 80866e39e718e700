# SIMD levels: one binary runs at every level this CPU supports (IVFTRAIN_SIMD forces it),
# --version and the --json summary name the level, an unknown or unsupported level is refused,
# and what the determinism contract says across levels holds: the levels that fuse
# multiply-add (avx512, avx2) give byte-identical models; every level gives the same model for
# any thread count.
source "$(dirname "$0")/lib.sh" "$@"

levels="$("$IVF" --version | sed -n 's/^kernels: [a-z0-9]* (this CPU and build: \([^;]*\);.*/\1/p')"
[ -n "$levels" ] && pass "--version lists the levels: $levels" || fail "--version: $("$IVF" --version)"
best="$("$IVF" --version | sed -n 's/^kernels: \([a-z0-9]*\) .*/\1/p')"
[ "$best" = "${levels%% *}" ] && pass "the best level is used by default ($best)" \
  || fail "default level $best is not the first of $levels"

"$IVF" -q gen data --rows 12000 --dim 24 --clusters 30 --fragments 3
train() {  # train LEVEL OUT THREADS: IVF and PQ both on the direct kernel (24 dims, 24 partitions)
  IVFTRAIN_SIMD="$1" "$IVF" -q train data --out "$2" --index-type ivf_pq --num-partitions 24 \
    --num-sub-vectors 6 --threads "$3" --json > "$2.json"
}
for level in $levels; do
  train "$level" "m-$level" 1
  train "$level" "m-$level-2" 2
  same_model "m-$level" "m-$level-2"
  "$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); assert s["simd"]==sys.argv[2], s["simd"]' \
    "m-$level.json" "$level" && pass "--json names level $level" || fail "--json at $level"
  [ "$(IVFTRAIN_SIMD="$level" "$IVF" --version | sed -n 's/^kernels: \([a-z0-9]*\) .*/\1/p')" \
    = "$level" ] && pass "IVFTRAIN_SIMD=$level is the level used" || fail "IVFTRAIN_SIMD=$level"
done
fma=""
for level in avx512 avx2 neon; do
  case " $levels " in *" $level "*) fma="$fma $level" ;; esac
done
first=""
for level in $fma; do
  if [ -z "$first" ]; then first="$level"; else same_model "m-$first" "m-$level"; fi
done

# OpenBLAS's kernels: on a CPU OpenBLAS does not know it runs its generic Prescott kernels, and
# the CLI starts again with OPENBLAS_CORETYPE naming the AVX-512 or AVX2 ones (models do not
# depend on them); a core the user sets is kept.
blas() { "$@" --version | sed -n 's/^BLAS: OpenBLAS, \([A-Za-z0-9]*\) kernels.*/\1/p'; }
core="$(blas env -u OPENBLAS_CORETYPE "$IVF")"
case " $levels " in
  *" avx2 "*) [ -n "$core" ] && [ "$core" != Prescott ] \
    && pass "OpenBLAS runs $core kernels on a CPU with AVX2" \
    || fail "OpenBLAS core '$core' on a CPU with AVX2: $(env -u OPENBLAS_CORETYPE "$IVF" --version)" ;;
esac
[ "$(blas env OPENBLAS_CORETYPE=Prescott "$IVF")" = Prescott ] \
  && pass "OPENBLAS_CORETYPE set by the user is kept" || fail "OPENBLAS_CORETYPE=Prescott not kept"
case "$(env -u OPENBLAS_CORETYPE "$IVF" --version)" in
  *"set by ivftrain"*) pass "--version says ivftrain chose the core" ;;
  *"BLAS: OpenBLAS, Prescott"*) fail "OpenBLAS runs Prescott kernels and ivftrain did not restart" ;;
  *) pass "OpenBLAS knows this CPU: no restart" ;;
esac
# A model on the GEMM path (96 dims) with bounds (128 partitions): the same whatever the core.
"$IVF" -q gen gemm --rows 12000 --dim 96 --clusters 100 --fragments 2
for core in default Prescott Haswell; do
  if [ $core = default ]; then run=(env -u OPENBLAS_CORETYPE); else run=(env OPENBLAS_CORETYPE=$core); fi
  "${run[@]}" "$IVF" -q train gemm --out "g-$core" --index-type ivf_flat --num-partitions 128 \
    --max-iters 8 --threads 2
done
same_model g-default g-Prescott
same_model g-default g-Haswell

expect_error "IVFTRAIN_SIMD: SIMD level avx1024 is unknown" env IVFTRAIN_SIMD=avx1024 "$IVF" --version
case " $levels " in
  *" avx512 "*) ;;  # nothing above this CPU to refuse
  *) expect_error "not supported by this CPU" env IVFTRAIN_SIMD=avx512 "$IVF" --version ;;
esac
finish
