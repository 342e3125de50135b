#!/usr/bin/env python3
"""NumPy/SciPy peer for the recommender speed benchmark (`Vec.Bench rec --peer`).

Reads a users x items training matrix written by the .NET side and times, on the same data and thread count:
  * EASE (Steck, WWW 2019), the reference NumPy formulation from the paper: G = X^T X + lambda I, P = inv(G),
    B = P / -diag(P), diag(B) = 0; recommend-all = X @ B, seen items removed, top-k by argpartition + argsort;
  * item-kNN, cosine on the binary matrix, all neighbours (the "computed here" baseline of recsys-protocols.md):
    S = normalised X^T X with a zero diagonal; recommend-all = X @ S, seen removed, top-k.
BLAS threads follow --threads (OpenBLAS via OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, set before NumPy loads).
Run with /usr/bin/python3 and OPENBLAS_CORETYPE=SkylakeX (Zen on a CPU without AVX-512) (Debian's environment otherwise pins Haswell kernels).

Input (--train FILE): little-endian int32 users, int32 items, int32 nnz, then nnz records of
(int32 user, int32 item, float32 value). Output (--json FILE): {"peer", "threads", "results": [{"model", "fit_s",
"recommend_s", "lists_file"}]}; with --lists-out PREFIX the top-k item indices (int32, users x k, -1 padded) of each
model are written to PREFIX.<model>.i32 so the caller can check that both sides recommend the same items.
"""
import argparse, json, os, sys, time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ease-lambda", type=float, default=500.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", required=True)
    ap.add_argument("--lists-out")
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    import scipy.sparse as sp

    raw = open(a.train, "rb").read()
    users, items, nnz = np.frombuffer(raw[:12], dtype="<i4")
    rec = np.frombuffer(raw[12:], dtype=np.dtype([("u", "<i4"), ("i", "<i4"), ("v", "<f4")]), count=nnz)
    X = sp.csr_matrix((np.ones(nnz, dtype=np.float64), (rec["u"], rec["i"])), shape=(users, items))
    seen = X.astype(bool)

    def best(f, n):
        out, t = None, float("inf")
        for _ in range(n):
            t0 = time.perf_counter(); out = f(); t = min(t, time.perf_counter() - t0)
        return out, t

    def topk(scores):
        scores = np.asarray(scores, dtype=np.float64)
        scores[seen.nonzero()] = -np.inf
        part = np.argpartition(-scores, a.k, axis=1)[:, :a.k]
        rows = np.arange(scores.shape[0])[:, None]
        order = np.lexsort((part, -scores[rows, part]), axis=1)  # score desc, then item asc
        lists = part[rows, order].astype(np.int32)
        lists[~np.isfinite(scores[rows, lists])] = -1
        return lists

    results = []
    # EASE
    def ease_fit():
        G = (X.T @ X).toarray()
        G[np.diag_indices(items)] += a.ease_lambda
        P = np.linalg.inv(G)
        B = P / (-np.diag(P))
        B[np.diag_indices(items)] = 0.0
        return B
    B, fit_s = best(ease_fit, a.repeats)
    lists, rec_s = best(lambda: topk(X @ B), a.repeats)
    results.append({"model": "ease", "fit_s": fit_s, "recommend_s": rec_s, "lists": lists})
    # item-kNN cosine, all neighbours
    def knn_fit():
        C = (X.T @ X).toarray()
        n = np.sqrt(np.diag(C)); n[n == 0] = 1
        S = C / n[:, None] / n[None, :]
        S[np.diag_indices(items)] = 0.0
        return S
    S, fit_s = best(knn_fit, a.repeats)
    lists, rec_s = best(lambda: topk(X @ S), a.repeats)
    results.append({"model": "itemknn-cosine", "fit_s": fit_s, "recommend_s": rec_s, "lists": lists})

    for r in results:
        lists = r.pop("lists")
        if a.lists_out:
            path = f"{a.lists_out}.{r['model']}.i32"
            lists.astype("<i4").tofile(path + ".tmp"); os.replace(path + ".tmp", path)
            r["lists_file"] = path
    doc = {"peer": f"numpy {np.__version__} / scipy (OpenBLAS), reference formulations", "threads": a.threads,
           "users": int(users), "items": int(items), "nnz": int(nnz), "results": results}
    tmp = a.json + ".tmp"
    with open(tmp, "w") as f: json.dump(doc, f, indent=2)
    os.replace(tmp, a.json)
    print(json.dumps(doc))


if __name__ == "__main__":
    sys.exit(main())
