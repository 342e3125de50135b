#!/usr/bin/env bash
# Issue 7: train + add time of VecRec's IVF-PQ 4-bit fast scan with float32 refine beside FAISS IndexIVFPQFastScan +
# IndexRefineFlat (the -O3 -march=native build of FAISS 1.7.3; Debian's SSE build too with DEBIAN=1), same data set,
# parameters and threads as bench/fastscan-compare.sh. Every engine builds RUNS times, alternating, each in a fresh
# process. VecRec's figures come from `Vec.Bench ann`: the first build in the process (cold: JIT included) and a second,
# identical build in the same process (warm). A one-probe search follows each build (the report needs one point).
#
# usage: bench/build-compare.sh siftsmall|lowdim384
# env: THREADS (default nproc), RUNS (default 3), FAISS_NATIVE, DEBIAN=1, OUT (default bench/results/fastscan), and the
#      data set variables of bench/ann-common.sh (NLIST, M, REFINE, SEED, LOWDIM_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: bench/build-compare.sh siftsmall|lowdim384}"; shift
sift_m=64; low_m=96; low_metric=l2
out="${OUT:-bench/results/fastscan}"
native="${FAISS_NATIVE:-/work/faiss-src/faiss-1.7.3/build-native/faiss/python/build/lib}"
source bench/ann-common.sh
[[ -d "$native" ]] || { echo "no native FAISS build at $native (see bench/fastscan-compare.sh)" >&2; exit 2; }
runs="${RUNS:-3}"
tag="build-$dataset-t$threads"
common=(--base "$base" --query "$query" --gt "$gt" --metric "$metric" --nlist "$nlist" --m "$m" --nbits 4
        --nprobe 1 --k "$k" --threads "$threads" --seed "$seed" --refine "$refine")
files=()
for run in $(seq 1 "$runs"); do
  "${bench[@]}" ann "${common[@]}" --index ivfpq --json "$out/$tag-vecrec-run$run.json" >/dev/null
  FAISS_PYTHONPATH="$native" "$py" bench/peers/faiss_ivfpq.py "${common[@]}" --fastscan --engines refine --dataset "$dataset" \
    --single-queries 10 --json "$out/$tag-native-run$run.json" >/dev/null
  files+=("$out/$tag-vecrec-run$run.json" "$out/$tag-native-run$run.json")
  if [[ "${DEBIAN:-0}" == 1 ]]; then
    "$py" bench/peers/faiss_ivfpq.py "${common[@]}" --fastscan --engines refine --dataset "$dataset" \
      --single-queries 10 --json "$out/$tag-debian-run$run.json" >/dev/null
    files+=("$out/$tag-debian-run$run.json")
  fi
done
"$py" - "$out/$tag.md" "$dataset" "$threads" "${files[@]}" <<'EOF'
import json, os, sys, tempfile
path, dataset, threads, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
rows = {}
for f in files:
    d = json.load(open(f))
    if "trainSeconds" in d:
        rows.setdefault("VecRec (cold: first build, JIT included)", []).append(d["trainSeconds"] + d["addSeconds"])
        rows.setdefault("VecRec (warm: second build)", []).append(d["warmTrainSeconds"] + d["warmAddSeconds"])
        rows.setdefault("VecRec train (cold)", []).append(d["trainSeconds"])
        rows.setdefault("VecRec add (cold)", []).append(d["addSeconds"])
    else:
        r = d["results"][0]
        build = "native" if "native" in os.path.basename(f) else "debian"
        rows.setdefault(f"FAISS[{build}] {r['engine']}", []).append(r["train_s"] + r["add_s"])
        rows.setdefault(f"FAISS[{build}] train", []).append(r["train_s"])
        rows.setdefault(f"FAISS[{build}] add", []).append(r["add_s"])
faiss = min(v for k, vs in rows.items() if k.startswith("FAISS[native] faiss") for v in vs)
lines = [f"# Train + add, {dataset}, {threads} thread(s): VecRec IVF-PQ 4-bit + float32 refine vs FAISS IndexIVFPQFastScan + IndexRefineFlat",
         "", f"Each engine built {len(files) // (3 if any('debian' in f for f in files) else 2)} times, alternating, in fresh processes. "
         "Seconds per run; best = least; ratio = FAISS[native]'s best train + add / this row's best (above 1: VecRec faster).", "",
         "| engine | runs (s) | best (s) | FAISS[native] best / best |", "|---|---|---:|---:|"]
for name, vs in rows.items():
    total = not (name.endswith(" train") or name.endswith(" add") or "train (cold)" in name or "add (cold)" in name)
    ratio = f"{faiss / min(vs):.2f}x" if total else ""
    lines.append(f"| {name} | {', '.join(f'{v:.3f}' for v in vs)} | {min(vs):.3f} | {ratio} |")
text = "\n".join(lines) + "\n"
fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".")
with os.fdopen(fd, "w") as fh: fh.write(text)
os.replace(tmp, path)
print(text)
EOF
