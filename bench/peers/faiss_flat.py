#!/usr/bin/python3
"""FAISS exact (flat) search peer for VecRec's search-compare.

Reads a base and a query set from TEXMEX .fvecs files, builds faiss.IndexFlatIP or IndexFlatL2, and times
  * batch search: all queries in one index.search call (median of --repeats after one warm-up), and
  * single-query search: the first --single-queries queries one call each (median of --repeats passes),
on --threads OpenMP threads (faiss.omp_set_num_threads). Prints one JSON object on stdout; with --ids writes
the batch result ids as .ivecs (nq records of k int32) so the caller can compute recall against its own results.

Run it with /usr/bin/python3 (Debian's python3-faiss) and OPENBLAS_CORETYPE=SkylakeX (Zen on a CPU without AVX-512), OMP_NUM_THREADS=<threads>:
without the core type OpenBLAS falls back to a generic sgemm and FAISS's batch path is handicapped.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import faiss


def read_fvecs(path):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not an .fvecs file (d={d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    if not np.all(rows[:, 0] == d):
        raise SystemExit(f"{path}: records of different dimensions")
    return np.ascontiguousarray(rows[:, 1:].view(np.float32))


def write_ivecs(path, ids):
    n, k = ids.shape
    out = np.empty((n, k + 1), dtype=np.int32)
    out[:, 0] = k
    out[:, 1:] = ids.astype(np.int32)
    out.tofile(path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help=".fvecs database vectors")
    p.add_argument("--query", required=True, help=".fvecs queries")
    p.add_argument("--metric", choices=["ip", "l2"], required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--single-queries", type=int, default=100)
    p.add_argument("--ids", help="write batch result ids here (.ivecs)")
    a = p.parse_args()
    if a.k <= 0 or a.threads <= 0 or a.repeats <= 0 or a.single_queries < 0:
        raise SystemExit("k, threads and repeats must be positive; single-queries non-negative")

    faiss.omp_set_num_threads(a.threads)
    xb = read_fvecs(a.base)
    xq = read_fvecs(a.query)
    if xb.shape[1] != xq.shape[1]:
        raise SystemExit(f"dimension mismatch: base {xb.shape[1]}, queries {xq.shape[1]}")
    d = xb.shape[1]
    index = faiss.IndexFlatIP(d) if a.metric == "ip" else faiss.IndexFlatL2(d)
    index.add(xb)

    _, ids = index.search(xq, a.k)  # warm-up (and the ids reported)
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        index.search(xq, a.k)
        times.append(time.perf_counter() - t0)
    batch_s = statistics.median(times)

    single = None
    ns = min(a.single_queries, xq.shape[0])
    if ns > 0:
        for i in range(ns):
            index.search(xq[i:i + 1], a.k)
        passes = []
        for _ in range(max(3, a.repeats // 2)):
            t0 = time.perf_counter()
            for i in range(ns):
                index.search(xq[i:i + 1], a.k)
            passes.append(time.perf_counter() - t0)
        single_s = statistics.median(passes)
        single = {"queries": ns, "median_s": single_s, "qps": ns / single_s}

    if a.ids:
        write_ivecs(a.ids, ids)
    print(json.dumps({
        "engine": type(index).__name__,
        "faiss_version": getattr(faiss, "__version__", "unknown"),
        "numpy_version": np.__version__,
        "threads": faiss.omp_get_max_threads(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "metric": a.metric, "nb": int(xb.shape[0]), "nq": int(xq.shape[0]), "d": int(d), "k": a.k,
        "batch": {"repeats": a.repeats, "median_s": batch_s, "qps": xq.shape[0] / batch_s},
        "single": single,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
