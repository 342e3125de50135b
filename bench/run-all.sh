#!/usr/bin/env bash
# The final benchmark run in one command: the kernels table (machine peak + every kernel on every default backend)
# and VecRec vs FAISS flat search, at the full sizes, on all cores. Results (JSON + markdown) go to
# bench/results/<cpu-model-slug>/. Run it on a quiet machine: other load disturbs every figure.
#   bench/run-all.sh              full sizes (the reported figures)
#   bench/run-all.sh --quick      smoke sizes (files marked -smoke)
# Environment: THREADS (default: all cores), VECREC_SHARED (default ../shared relative to the repo root).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-$(nproc)}"
extra=("$@")

# FAISS peer: Debian's python3-faiss with the OpenMP OpenBLAS (apt-get install -y python3-faiss python3-hnswlib libopenblas0-openmp).
if ! /usr/bin/python3 -c "import faiss" 2>/dev/null; then
  echo "FAISS peer missing: apt-get install -y python3-faiss python3-hnswlib libopenblas0-openmp" >&2
  exit 1
fi
source bench/blas-coretype.sh
export OPENBLAS_CORETYPE="$blas_coretype" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

dotnet build bench/Vec.Bench -c Release --nologo -v q
bench=(dotnet bench/Vec.Bench/bin/Release/net10.0/Vec.Bench.dll)
start=$SECONDS
"${bench[@]}" kernels --threads "$threads" --save "${extra[@]}"
"${bench[@]}" search-compare --threads "$threads" --save "${extra[@]}"
echo "run-all: $((SECONDS - start)) s"
