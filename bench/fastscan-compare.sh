#!/usr/bin/env bash
# Issue 7: VecRec IVF-PQ 4-bit fast scan (without and with refine) beside FAISS IndexIVFPQFastScan (+ IndexRefineFlat)
# from Debian's SSE-only build AND from a build of the same FAISS 1.7.3 source with -O3 -march=native, and hnswlib (M 32),
# one data set, one thread count, one run each; then the comparison at equal 10-recall@10 (bench/peers/ann_compare.py).
#
# usage: bench/fastscan-compare.sh siftsmall|lowdim384 [extra Vec.Bench ann flags]
# env: THREADS (default nproc), METRIC (default l2), NLIST, M, NPROBE, REFINE, K, SEED, LOWDIM_DIR, OUT (default bench/results/fastscan),
#      FAISS_NATIVE (the native build's python folder; default /work/faiss-src/faiss-1.7.3/build-native/faiss/python/build/lib;
#      skipped with a note when absent), QUICK=1 (smoke), RUNS=N (default 1: run every engine N times, alternating, and
#      compare each engine's best run: on a shared machine a burst of other load then spoils no engine's figures alone).
# Building the native FAISS (outside the repository; docs/benchmarks.md#fast-scan):
#   apt-get source faiss && apt-get build-dep faiss
#   cmake -B build-native -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="-O3 -march=native" -DFAISS_ENABLE_GPU=OFF \
#         -DFAISS_ENABLE_PYTHON=ON -DFAISS_ENABLE_C_API=OFF -DBUILD_TESTING=OFF -DPython_EXECUTABLE=/usr/bin/python3
#   make -C build-native -j2 swigfaiss && (cd build-native/faiss/python && /usr/bin/python3 setup.py build)
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: bench/fastscan-compare.sh siftsmall|lowdim384 [ann flags]}"; shift
# lowdim384 in L2 by default: FAISS 1.7.3's IndexIVFPQFastScan reached only 10-recall@10 0.2-0.5 on it with inner
# product (bench/results/fastscan/cosine) and with L2 alike (docs/benchmarks.md); L2 keeps the run comparable to SIFT10K.
sift_m=64; low_m=96; low_metric=l2
out="${OUT:-bench/results/fastscan}"
native="${FAISS_NATIVE:-/work/faiss-src/faiss-1.7.3/build-native/faiss/python/build/lib}"
source bench/ann-common.sh
tag="$dataset-t$threads"
common=(--base "$base" --query "$query" --gt "$gt" --metric "$metric" --nlist "$nlist" --m "$m" --nbits 4
        --nprobe "$nprobe" --k "$k" --threads "$threads" --seed "$seed")

runs="${RUNS:-1}"
vec=(); peers=()
for run in $(seq 1 "$runs"); do
  sfx=""; [[ "$runs" -gt 1 ]] && sfx="-run$run"
  "${bench[@]}" ann "${common[@]}" --index ivfpq "${quick[@]}" --json "$out/fs-$tag-vecrec$sfx.json" "$@"
  "${bench[@]}" ann "${common[@]}" --index ivfpq --refine "$refine" "${quick[@]}" --json "$out/fs-$tag-vecrec-refine$sfx.json" "$@"
  vec+=("$out/fs-$tag-vecrec$sfx.json" "$out/fs-$tag-vecrec-refine$sfx.json")
  # Debian's build keeps assertions on, and FAISS 1.7.3's reservoir (utils/partitioning.cpp compress_array) can fail its
  # `n_eq == 0` assertion on tied 16-bit distances with k x R candidates: then the refine engine is left out for that build.
  "$py" bench/peers/faiss_ivfpq.py "${common[@]}" --refine "$refine" --fastscan --dataset "$dataset" "${quick[@]}" \
    --json "$out/fs-$tag-peers-debian$sfx.json" || {
    echo "note: Debian's FAISS aborted (see above); rerunning it without IndexIVFPQFastScan + IndexRefineFlat" >&2
    "$py" bench/peers/faiss_ivfpq.py "${common[@]}" --refine "$refine" --fastscan --engines ivfpq,hnsw --dataset "$dataset" \
      "${quick[@]}" --json "$out/fs-$tag-peers-debian$sfx.json"; }
  peers+=(--peers "$out/fs-$tag-peers-debian$sfx.json")
  if [[ -d "$native" ]]; then
    FAISS_PYTHONPATH="$native" "$py" bench/peers/faiss_ivfpq.py "${common[@]}" --refine "$refine" --fastscan --engines ivfpq,refine \
      --dataset "$dataset" "${quick[@]}" --json "$out/fs-$tag-peers-native$sfx.json"
    peers+=(--peers "$out/fs-$tag-peers-native$sfx.json")
  else
    echo "note: no native FAISS build at $native; comparing with Debian's build only" >&2
  fi
done
"$py" bench/peers/ann_compare.py "${peers[@]}" --out "$out/fs-$tag" \
  --title "VecRec 4-bit fast scan vs FAISS IndexIVFPQFastScan / hnswlib: $dataset ($metric), $threads thread(s)" \
  "${vec[@]}"
