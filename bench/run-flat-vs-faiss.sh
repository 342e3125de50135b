#!/usr/bin/env bash
# VecRec fused exact search vs FAISS IndexFlatIP/IndexFlatL2 on SIFT10K and the synthetic 100k x 384 set, same data
# and threads, in one run. Extra arguments go to search-compare (e.g. --quick, --backend simd, --save).
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-$(nproc)}"
source bench/blas-coretype.sh
export OPENBLAS_CORETYPE="$blas_coretype" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
dotnet build bench/Vec.Bench -c Release --nologo -v q
dotnet bench/Vec.Bench/bin/Release/net10.0/Vec.Bench.dll search-compare --threads "$threads" "$@"
