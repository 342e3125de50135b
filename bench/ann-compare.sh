#!/usr/bin/env bash
# VecRec IVF-PQ (without and with refine) vs FAISS 1.7.3 IndexIVFPQ, IndexIVFPQ + IndexRefineFlat and hnswlib (M 32)
# on one data set, same nlist/M/nbits/nprobe/threads, one run each, then the comparison at equal 10-recall@10:
# bench/results/ann-<dataset>.md and .json (the raw reports go beside them as ann-<dataset>-*.json).
#
# usage: bench/ann-compare.sh siftsmall|lowdim384 [extra Vec.Bench ann flags, e.g. --quick]
# env: THREADS (default nproc), METRIC, NLIST, M, NBITS, NPROBE, REFINE, K, SEED, LOWDIM_DIR (default /work/data/lowdim384,
#      generated with gen-lowdim when missing), QUICK=1 (smoke run: --quick on both sides), OUT (default bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: bench/ann-compare.sh siftsmall|lowdim384 [ann flags]}"; shift
sift_m=16; low_m=48; low_metric=cosine
nbits="${NBITS:-8}"
out="${OUT:-bench/results}"
source bench/ann-common.sh
common=(--base "$base" --query "$query" --gt "$gt" --metric "$metric" --nlist "$nlist" --m "$m" --nbits "$nbits"
        --nprobe "$nprobe" --k "$k" --threads "$threads" --seed "$seed")

"${bench[@]}" ann "${common[@]}" --index ivfpq "${quick[@]}" --json "$out/ann-$dataset-vecrec.json" "$@"
reports=("$out/ann-$dataset-vecrec.json")
if [[ "$refine" -gt 0 ]]; then
  "${bench[@]}" ann "${common[@]}" --index ivfpq --refine "$refine" "${quick[@]}" --json "$out/ann-$dataset-vecrec-refine.json" "$@"
  reports+=("$out/ann-$dataset-vecrec-refine.json")
fi
"$py" bench/peers/faiss_ivfpq.py "${common[@]}" --refine "$refine" --dataset "$dataset" "${quick[@]}" --json "$out/ann-$dataset-peers.json"
"$py" bench/peers/ann_compare.py --peers "$out/ann-$dataset-peers.json" --out "$out/ann-$dataset" "${reports[@]}"
