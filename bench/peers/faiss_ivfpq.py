#!/usr/bin/python3
"""Approximate-search peers for VecRec's `ann` benchmark: FAISS IndexIVFPQ, IndexIVFPQ + IndexRefineFlat, hnswlib.

Same inputs and flags as `Vec.Bench ann` (TEXMEX .fvecs/.ivecs), same figures:
  * 1-recall@1   = fraction of queries whose true nearest neighbour is ranked first,
  * 10-recall@10 = mean |top-10 ∩ true top-10| / 10,
  * batch QPS    = all queries in one search call, best of the repeats after a warm-up,
  * single QPS   = the first --single-queries queries one call each from one Python thread, best of the repeats,
  * train and add seconds, bytes per vector.
Engines (pick with --engines, default all three):
  ivfpq   IndexIVFPQ(nlist, M, nbits), swept over --nprobe,
  refine  IndexRefineFlat around a second IndexIVFPQ trained identically (k_factor = --refine), swept over --nprobe,
  hnsw    hnswlib (M = --hnsw-m, ef_construction = --hnsw-efc), swept over --ef.
--fastscan: ivfpq and refine use IndexIVFPQFastScan(nlist, M, 4) instead ("IVFx,PQMx4fs": 4-bit codes in blocks of
32, SIMD in-register tables; nbits is 4), engines named "faiss IVF64,PQ32x4fs" and "faiss IVF64,PQ32x4fs,RFlat R=4";
their bytes per vector count the lists' padding to whole blocks of 32.
Another FAISS build: FAISS_PYTHONPATH=dir1[:dir2...] is put in front of sys.path before `import faiss`; the report
names the module it loaded (faiss_build) and the variable (faiss_pythonpath).
Metrics: l2; ip (FAISS METRIC_INNER_PRODUCT, hnswlib 'ip'); cosine as FAISS's better variant: L2-normalised vectors
under L2 (same ranking as cosine), for hnswlib too.
Threads: faiss.omp_set_num_threads(--threads) and hnswlib num_threads = --threads (add and batch query).
Ground truth: --gt (for cosine its _cosine sibling, for ip its _ip sibling when present, else computed), otherwise
exact with IndexFlat on the same (normalised) vectors.

Run it with /usr/bin/python3 (Debian's python3-faiss 1.7.3, python3-hnswlib) and OPENBLAS_CORETYPE=SkylakeX on an AVX-512
CPU (Zen on an AVX2-only one; left unset, the script picks by /proc/cpuinfo).
Prints a table; --json FILE writes the report atomically.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

faiss = None  # imported in main() once the thread environment is set (OpenBLAS reads it at load time)
hnswlib = None


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"{path}: empty")
    d = int(raw[0])
    if d <= 0 or d > 65536 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a TEXMEX file or truncated (d={d}, {raw.size} words)")
    rows = raw.reshape(-1, d + 1)
    bad = np.nonzero(rows[:, 0] != d)[0]
    if bad.size:
        raise SystemExit(f"{path}: row {int(bad[0])} has dimension {int(rows[bad[0], 0])}, expected {d}")
    return np.ascontiguousarray(rows[:, 1:].view(dtype))


def positive_list(text):
    values = sorted({int(v) for v in text.split(",") if v.strip()})
    if not values or values[0] <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of positive integers")
    return values


def resolve_gt(given, metric):
    if given is None:
        return None
    if not os.path.exists(given):
        raise SystemExit(f"ground truth {given} does not exist")
    if metric == "l2":
        return given
    stem, ext = os.path.splitext(given)
    if stem.endswith("_" + metric):
        return given
    sibling = f"{stem}_{metric}{ext}"
    if os.path.exists(sibling):
        return sibling
    print(f"note: no {metric} ground truth beside {given}; computing it exactly", file=sys.stderr)
    return None


def recalls(found, truth):
    """FAISS's 1-recall@1 and 10-recall@10; found and truth are [nq, >= 10]."""
    nq = found.shape[0]
    r1 = float(np.mean(found[:, 0] == truth[:, 0]))
    hits = sum(len(np.intersect1d(found[q, :10], truth[q, :10])) for q in range(nq))
    return r1, hits / (10.0 * nq)


def best_of(fn, repeats):
    """Same protocol as VecRec's Ann.Best: warm up for at least 0.5 s, pause 0.3 s, then the least seconds per call
    over `repeats` rounds, each round repeating the call until it has lasted at least 0.04 s (many short rounds: the
    least of them skips the bursts of other load on a shared machine better than a few long ones)."""
    t0 = time.perf_counter()
    fn()
    while time.perf_counter() - t0 < 0.5:
        fn()
    time.sleep(0.3)
    best = float("inf")
    for _ in range(repeats):
        calls = 0
        t = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - t
            if elapsed >= 0.04:
                break
        best = min(best, elapsed / calls)
    return best


def sweep(name, label, values, set_param, search, xq, k, truth, single, repeats, common, out, log):
    nq = xq.shape[0]
    for v in values:
        set_param(v)
        holder = {}

        def batch():
            holder["ids"] = search(xq, k)

        bt = best_of(batch, repeats)
        r1, r10 = recalls(holder["ids"], truth)

        def one_by_one():
            for q in range(single):
                search(xq[q:q + 1], k)

        st = best_of(one_by_one, repeats)
        row = dict(common, engine=name, param=label, value=v, recall_1_at_1=r1, recall_10_at_10=r10,
                   batch_qps=nq / bt, single_qps=single / st, batch_s=bt, single_s=st)
        out.append(row)
        log(f"  {name:<22} {label}={v:<5} 1-R@1 {r1:.4f}  10-R@10 {r10:.4f}  batch {row['batch_qps']:>10.0f} QPS  "
            f"single {row['single_qps']:>9.0f} QPS")



def blas_coretype():
    """OpenBLAS kernels for this CPU: SkylakeX where AVX-512 exists (the environment's Haswell pin halves BLAS speed
    there), Zen (AVX2) elsewhere (SkylakeX kernels die of an illegal instruction without AVX-512)."""
    try:
        with open("/proc/cpuinfo") as f:
            return "SkylakeX" if " avx512f" in f.read() else "Zen"
    except OSError:
        return "Zen"

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help=".fvecs database vectors")
    p.add_argument("--query", required=True, help=".fvecs queries")
    p.add_argument("--gt", help=".ivecs ground truth (else exact)")
    p.add_argument("--metric", choices=["l2", "ip", "cosine"], default="l2")
    p.add_argument("--nlist", type=int, default=0, help="IVF lists; 0 = 4 sqrt(n) (as Vec.Bench ann)")
    p.add_argument("--m", type=int, default=16, help="PQ sub-quantisers")
    p.add_argument("--nbits", type=int, default=8)
    p.add_argument("--nprobe", type=positive_list, default=[1, 2, 4, 8, 16, 32, 64])
    p.add_argument("--refine", type=int, default=0, help="IndexRefineFlat k_factor; 0 skips the refine engine")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--single-queries", type=int, default=200)
    p.add_argument("--engines", default="ivfpq,refine,hnsw", help="comma list of ivfpq, refine, hnsw")
    p.add_argument("--fastscan", action="store_true", help="ivfpq/refine engines use IndexIVFPQFastScan (4-bit, nbits forced to 4)")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--hnsw-efc", type=int, default=200)
    p.add_argument("--ef", type=positive_list, default=[10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512])
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 repeats, 50 single queries")
    p.add_argument("--dataset", help="label in the report (default: base file name)")
    p.add_argument("--json", help="write the report here (atomically)")
    a = p.parse_args()
    global faiss, hnswlib
    if a.threads and a.threads > 0:
        os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    os.environ.setdefault("OPENBLAS_CORETYPE", blas_coretype())
    faiss_pythonpath = os.environ.get("FAISS_PYTHONPATH") or None
    if faiss_pythonpath:
        for entry in reversed([e for e in faiss_pythonpath.split(os.pathsep) if e]):
            sys.path.insert(0, entry)
    import faiss as faiss_module
    faiss = faiss_module
    try:
        import hnswlib as hnswlib_module
        hnswlib = hnswlib_module
    except ImportError:  # reported when the hnsw engine is asked for
        hnswlib = None
    if a.k < 10:
        raise SystemExit("--k must be at least 10 (10-recall@10 is reported)")
    if a.threads <= 0 or a.m <= 0 or not 1 <= a.nbits <= 16 or a.refine < 0 or a.single_queries <= 0 or a.nlist < 0:
        raise SystemExit("threads, m, single-queries must be positive; nbits in 1..16; refine, nlist non-negative")
    if a.fastscan:
        if "--nbits" in sys.argv and a.nbits != 4:
            raise SystemExit("--fastscan uses 4-bit codes; drop --nbits or give --nbits 4")
        a.nbits = 4
        if not hasattr(faiss, "IndexIVFPQFastScan"):
            raise SystemExit(f"faiss {faiss.__version__} at {faiss.__file__} has no IndexIVFPQFastScan (FAISS >= 1.7.2 needed)")
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("ivfpq", "refine", "hnsw"):
            raise SystemExit(f"unknown engine {e}")
    if a.refine == 0 and "refine" in engines:
        engines.remove("refine")
    if "hnsw" in engines and hnswlib is None:
        raise SystemExit("hnswlib is not installed (apt-get install python3-hnswlib)")
    if a.quick and "--single-queries" not in sys.argv:
        a.single_queries = 50
    repeats = 2 if a.quick else 15

    faiss.omp_set_num_threads(a.threads)
    xb = read_vecs(a.base, np.float32)
    xq = read_vecs(a.query, np.float32)
    n, d = xb.shape
    nq = xq.shape[0]
    if xq.shape[1] != d:
        raise SystemExit(f"query dimension {xq.shape[1]} differs from base dimension {d}")
    if a.k > n:
        raise SystemExit(f"--k {a.k} exceeds the {n} base vectors")
    if a.metric == "cosine":
        xb = xb.copy(); xq = xq.copy()
        faiss.normalize_L2(xb)
        faiss.normalize_L2(xq)
    faiss_metric = faiss.METRIC_INNER_PRODUCT if a.metric == "ip" else faiss.METRIC_L2
    nlist = a.nlist or max(1, int(round(4 * np.sqrt(n))))
    nprobes = [v for v in a.nprobe if v <= nlist] or [nlist]
    single = min(a.single_queries, nq)

    def log(msg):
        print(msg, flush=True)

    faiss_build = os.path.dirname(os.path.abspath(faiss.__file__))
    log(f"faiss {faiss.__version__} ({faiss_build}) peers: {os.path.basename(a.base)} {n} x {d}, {nq} queries, metric {a.metric}, "
        f"threads {a.threads}, engines {','.join(engines)}{', fast scan' if a.fastscan else ''}{' (--quick: smoke)' if a.quick else ''}")

    gt_path = resolve_gt(a.gt, a.metric)
    if gt_path:
        truth = read_vecs(gt_path, np.int32)
        if truth.shape[0] < nq or truth.shape[1] < 10:
            raise SystemExit(f"ground truth {gt_path} has {truth.shape}; need at least {nq} x 10")
        truth = truth[:nq]
        gt_source = gt_path
    else:
        flat = faiss.IndexFlat(d, faiss_metric)
        flat.add(xb)
        _, truth = flat.search(xq, 10)
        gt_source = f"exact (faiss IndexFlat {a.metric})"
        del flat

    results = []
    base_common = dict(nlist=nlist, m=a.m, nbits=a.nbits)

    if "ivfpq" in engines or "refine" in engines:
        def make_ivfpq():
            quantizer = faiss.IndexFlat(d, faiss_metric)
            if a.fastscan:
                index = faiss.IndexIVFPQFastScan(quantizer, d, nlist, a.m, 4, faiss_metric)
            else:
                index = faiss.IndexIVFPQ(quantizer, d, nlist, a.m, a.nbits, faiss_metric)
            index.cp.seed = a.seed
            index.pq.cp.seed = a.seed
            return index, quantizer

        def code_bytes_per_vector(index):
            """PQ code bytes per stored vector; for fast scan the lists hold whole blocks of bbs (32) vectors of
            ceil(M / 2) bytes each, so the padding of each list's last block is counted."""
            if not a.fastscan:
                return float(index.code_size)
            bbs = int(getattr(index, "bbs", 32))
            m2 = int(getattr(index, "M2", a.m + (a.m & 1)))
            sizes = [index.invlists.list_size(l) for l in range(index.nlist)]
            padded = sum((s + bbs - 1) // bbs * bbs for s in sizes)
            return padded * (m2 // 2) / max(1, sum(sizes))

        pq_name = f"PQ{a.m}x4fs" if a.fastscan else f"PQ{a.m}x{a.nbits}"
        class_name = "IndexIVFPQFastScan" if a.fastscan else "IndexIVFPQ"

        if "ivfpq" in engines:
            index, quantizer = make_ivfpq()
            t = time.perf_counter(); index.train(xb); train_s = time.perf_counter() - t
            t = time.perf_counter(); index.add(xb); add_s = time.perf_counter() - t
            bpv = code_bytes_per_vector(index) + 8  # PQ code + int64 id in the inverted list
            log(f"  {class_name} IVF{nlist},{pq_name}: train {train_s:.3f} s, add {add_s:.3f} s, {bpv:.1f} bytes/vector")

            def set_nprobe(v, index=index):
                index.nprobe = v

            sweep(f"faiss IVF{nlist},{pq_name}", "nprobe", nprobes, set_nprobe, lambda x, k: index.search(x, k)[1],
                  xq, a.k, truth, single, repeats, dict(base_common, train_s=train_s, add_s=add_s, bytes_per_vector=bpv), results, log)
            del index, quantizer

        if "refine" in engines:
            index, quantizer = make_ivfpq()
            t = time.perf_counter(); index.train(xb); train_s = time.perf_counter() - t
            refine = faiss.IndexRefineFlat(index)
            refine.k_factor = float(a.refine)
            t = time.perf_counter(); refine.add(xb); add_s = time.perf_counter() - t
            bpv = code_bytes_per_vector(index) + 8 + 4 * d  # + float32 copy in the refine index
            log(f"  {class_name} + IndexRefineFlat (k_factor {a.refine}): train {train_s:.3f} s, add {add_s:.3f} s, {bpv:.1f} bytes/vector")

            def set_nprobe_refine(v, index=index):
                index.nprobe = v

            sweep(f"faiss IVF{nlist},{pq_name},RFlat R={a.refine}", "nprobe", nprobes, set_nprobe_refine,
                  lambda x, k: refine.search(x, k)[1], xq, a.k, truth, single, repeats,
                  dict(base_common, refine=a.refine, train_s=train_s, add_s=add_s, bytes_per_vector=bpv), results, log)
            del refine, index, quantizer

    if "hnsw" in engines:
        space = "ip" if a.metric == "ip" else "l2"
        h = hnswlib.Index(space=space, dim=d)
        t = time.perf_counter()
        h.init_index(max_elements=n, ef_construction=a.hnsw_efc, M=a.hnsw_m, random_seed=a.seed)
        h.add_items(xb, np.arange(n), num_threads=a.threads)
        add_s = time.perf_counter() - t
        # Level-0 links (2M int32 + count) + vector + label, plus the upper levels' expected share (1/(M-1) of a
        # level-0 node's links) and the per-element lock and level pointer: hnswlib's own layout.
        bpv = (4 * 2 * a.hnsw_m + 4) + 4 * d + 8 + (4 * a.hnsw_m + 4) / (a.hnsw_m - 1) + 8 + 4
        log(f"  hnswlib M={a.hnsw_m} efc={a.hnsw_efc}: build {add_s:.3f} s, {bpv:.0f} bytes/vector")
        h.set_num_threads(a.threads)
        efs = [e for e in a.ef if e >= a.k] or [a.k]

        def set_ef(v):
            h.set_ef(v)

        def search_hnsw(x, k):
            return h.knn_query(x, k=k, num_threads=a.threads if x.shape[0] > 1 else 1)[0].astype(np.int64)

        sweep(f"hnswlib M={a.hnsw_m}", "ef", efs, set_ef, search_hnsw, xq, a.k, truth, single, repeats,
              dict(hnsw_m=a.hnsw_m, ef_construction=a.hnsw_efc, train_s=0.0, add_s=add_s, bytes_per_vector=bpv), results, log)

    report = dict(kind="ann-peers", smoke=a.quick,
                  timestamp_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(),
                  faiss_version=faiss.__version__, faiss_build=faiss_build, faiss_pythonpath=faiss_pythonpath,
                  fastscan=a.fastscan, hnswlib=("present" if hnswlib else None),
                  python=platform.python_version(), cpu=platform.processor() or platform.machine(), threads=a.threads,
                  openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
                  dataset=a.dataset or os.path.basename(a.base), base=a.base, query=a.query, ground_truth=gt_source,
                  metric=a.metric, count=n, queries=nq, dimension=d, k=a.k, single_queries=single, results=results)
    if a.json:
        folder = os.path.dirname(os.path.abspath(a.json))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ann-peers-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(report, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, a.json)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        log(f"wrote {a.json}")


if __name__ == "__main__":
    main()
