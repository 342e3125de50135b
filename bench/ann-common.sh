# Sourced by bench/ann-compare.sh and bench/fastscan-compare.sh after `cd` to the repository root, with the data set name
# in $dataset and their own defaults in sift_m, low_m, low_metric and out: picks the data set's files and parameters
# (env THREADS, METRIC, NLIST, M, NPROBE, REFINE, K, SEED, LOWDIM_DIR, QUICK override them), sets the peers' environment,
# builds Vec.Bench, generates lowdim384 when missing and checks the inputs.
threads="${THREADS:-$(nproc)}"
shared="${VECREC_SHARED:-$(cd .. && pwd)/shared}"
py=/usr/bin/python3
case "$dataset" in
  siftsmall)
    dir="$shared/data/ann/siftsmall"
    base="$dir/siftsmall_base.fvecs"; query="$dir/siftsmall_query.fvecs"; gt="$dir/siftsmall_groundtruth.ivecs"
    metric="${METRIC:-l2}"; nlist="${NLIST:-64}"; m="${M:-$sift_m}" ;;
  lowdim384)
    dir="${LOWDIM_DIR:-/work/data/lowdim384}"
    base="$dir/base.fvecs"; query="$dir/query.fvecs"; gt="$dir/groundtruth.ivecs"
    metric="${METRIC:-$low_metric}"; nlist="${NLIST:-1024}"; m="${M:-$low_m}" ;;
  *) echo "unknown data set '$dataset' (siftsmall or lowdim384)" >&2; exit 2 ;;
esac
nprobe="${NPROBE:-1,2,4,8,16,32,64,128}"; refine="${REFINE:-4}"; k="${K:-10}"; seed="${SEED:-1234}"
quick=(); [[ "${QUICK:-0}" == 1 ]] && quick=(--quick)
source bench/blas-coretype.sh
export OPENBLAS_CORETYPE="$blas_coretype" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

dotnet build bench/Vec.Bench -c Release --nologo -v q
bench=(dotnet bench/Vec.Bench/bin/Release/net10.0/Vec.Bench.dll)
if [[ "$dataset" == lowdim384 && ! -f "$base" ]]; then
  "${bench[@]}" gen-lowdim --n 100000 --queries 1000 --dim 384 --intrinsic 24 --seed 7 --out "$dir" --threads "$threads"
fi
for f in "$base" "$query" "$gt"; do [[ -f "$f" ]] || { echo "missing $f" >&2; exit 2; }; done
mkdir -p "$out"
