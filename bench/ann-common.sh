# Sourced by bench/ann-compare.sh and bench/fastscan-compare.sh after they set dataset, threads, base, query, gt, dir
# and out: the peers' environment, the Vec.Bench build, the lowdim384 data set when missing, and the input checks.
quick=(); [[ "${QUICK:-0}" == 1 ]] && quick=(--quick)
export OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

dotnet build bench/Vec.Bench -c Release --nologo -v q
bench=(dotnet bench/Vec.Bench/bin/Release/net10.0/Vec.Bench.dll)
if [[ "$dataset" == lowdim384 && ! -f "$base" ]]; then
  "${bench[@]}" gen-lowdim --n 100000 --queries 1000 --dim 384 --intrinsic 24 --seed 7 --out "$dir" --threads "$threads"
fi
for f in "$base" "$query" "$gt"; do [[ -f "$f" ]] || { echo "missing $f" >&2; exit 2; }; done
mkdir -p "$out"
