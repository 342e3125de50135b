#!/usr/bin/python3
"""Compares `Vec.Bench ann` reports with the peers' report (bench/peers/faiss_ivfpq.py) at equal 10-recall@10.

For each VecRec operating point and each matching peer engine (VecRec IVF-PQ without refine vs FAISS IndexIVFPQ,
with refine vs FAISS IndexIVFPQ + IndexRefineFlat, both vs hnswlib): the peer's QPS at the same 10-recall@10, by linear
interpolation on the peer's recall-vs-QPS curve (its upper envelope: the best QPS reaching at least that recall, so
noise and non-monotone sweeps do not help or hurt), for batch and single-query QPS; the QPS ratio (VecRec / peer);
the train + add ratio (peer / VecRec: > 1 means VecRec builds faster) and bytes per vector. A recall outside the
peer's measured range is reported as such (no ratio): above it, the peer never reaches that recall in its sweep;
below it, the peer's lowest point is already more accurate (its QPS there is a lower bound on the peer's speed).

usage: ann_compare.py --peers PEERS.json [--peers PEERS2.json ...] --out bench/results/ann-NAME [--title T] VECREC.json...
Several --peers files (e.g. Debian's FAISS and a FAISS built with -O3 -march=native through FAISS_PYTHONPATH) are merged:
FAISS engines are labelled with their build ("faiss[debian]", "faiss[native]"), engines already seen are kept once.
Writes NAME.md and NAME.json (atomically); prints the markdown.
"""
import argparse
import json
import os
import tempfile


def envelope(points, qps_key):
    """[(recall, qps)] sorted by recall ascending, with qps = max qps among points of recall >= this one."""
    pts = sorted(((p["recall_10_at_10"], p[qps_key]) for p in points), key=lambda t: t[0])
    out = []
    best = 0.0
    for r, q in reversed(pts):
        best = max(best, q)
        out.append((r, best))
    out.reverse()
    # Collapse equal recalls (keep the best QPS).
    merged = []
    for r, q in out:
        if merged and abs(merged[-1][0] - r) < 1e-12:
            merged[-1] = (r, max(merged[-1][1], q))
        else:
            merged.append((r, q))
    return merged


def interpolate(curve, recall):
    """(qps, status) of the curve at `recall`: status 'ok', 'above' (peer never reaches it) or 'below'."""
    if not curve:
        return None, "no points"
    lo_r, hi_r = curve[0][0], curve[-1][0]
    if recall > hi_r + 1e-12:
        return None, f"above peer range (max {hi_r:.4f})"
    if recall < lo_r - 1e-12:
        return curve[0][1], f"below peer range (min {lo_r:.4f})"
    for (r0, q0), (r1, q1) in zip(curve, curve[1:]):
        if r0 <= recall <= r1:
            if r1 - r0 < 1e-12:
                return max(q0, q1), "ok"
            t = (recall - r0) / (r1 - r0)
            return q0 + t * (q1 - q0), "ok"
    return curve[-1][1], "ok"  # recall == the single point's recall


def load(path):
    with open(path) as f:
        return json.load(f)


def write_atomic(path, text):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ann-compare-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def fmt(x, digits=0):
    return "" if x is None else f"{x:.{digits}f}"


def compare(vecrec_reports, peers):
    engines = {}
    for row in peers["results"]:
        engines.setdefault(row["engine"], []).append(row)
    rows = []
    for rep in vecrec_reports:
        build = rep["trainSeconds"] + rep["addSeconds"]
        warm = (rep["warmTrainSeconds"] + rep["warmAddSeconds"]) if rep.get("warmTrainSeconds") is not None else None
        for p in rep["points"]:
            for name, pts in engines.items():
                # Like with like: plain IVF-PQ against FAISS IndexIVFPQ, refined against IndexIVFPQ + IndexRefineFlat;
                # hnswlib against both.
                if "nlist" in pts[0] and (pts[0].get("refine", 0) > 0) != (p["refine"] > 0):
                    continue
                peer_build = pts[0]["train_s"] + pts[0]["add_s"]
                b_qps, b_status = interpolate(envelope(pts, "batch_qps"), p["recall10At10"])
                s_qps, s_status = interpolate(envelope(pts, "single_qps"), p["recall10At10"])
                ok = b_status == "ok"
                rows.append(dict(
                    vecrec=rep["engine"], nprobe=p["nProbe"], refine=p["refine"], recall_10_at_10=p["recall10At10"],
                    recall_1_at_1=p["recall1At1"], vecrec_batch_qps=p["batchQps"], vecrec_single_qps=p["singleQps"],
                    peer=name, peer_batch_qps=b_qps if ok else None, peer_single_qps=s_qps if s_status == "ok" else None,
                    batch_ratio=p["batchQps"] / b_qps if ok and b_qps else None,
                    single_ratio=p["singleQps"] / s_qps if s_status == "ok" and s_qps else None,
                    status=b_status if b_status == s_status else f"batch {b_status}; single {s_status}",
                    vecrec_train_add_s=build, peer_train_add_s=peer_build,
                    build_ratio=peer_build / build if build > 0 else None,
                    vecrec_warm_train_add_s=warm, warm_build_ratio=peer_build / warm if warm else None,
                    vecrec_bytes_per_vector=rep["bytesPerVector"], peer_bytes_per_vector=pts[0]["bytes_per_vector"]))
    return rows


def markdown(title, vecrec_reports, peers, rows):
    out = [f"# {title}", ""]
    smoke = peers.get("smoke") or any(r.get("smoke") for r in vecrec_reports)
    if smoke:
        out += ["SMOKE RUN (--quick sizes on a shared, busy machine): not the reported figures.", ""]
    r0 = vecrec_reports[0]
    m = r0["machine"]
    out.append(f"data {peers['dataset']}: {peers['count']} x {peers['dimension']}, {peers['queries']} queries, metric "
               f"{peers['metric']}, k = {peers['k']}; {m['cpu']}; threads: VecRec {r0['config']['threads']}, peers "
               f"{peers['threads']}; FAISS {peers['faiss_version']} (OPENBLAS_CORETYPE={peers.get('openblas_coretype')}); "
               f"{m['runtime']}")
    out.append("")
    out.append("Peer QPS is interpolated on the peer's recall/QPS curve at VecRec's 10-recall@10; ratio = VecRec / peer "
               "(> 1: VecRec faster). Build ratio = peer train+add / VecRec train+add (> 1: VecRec builds faster); VecRec's "
               "train+add is the first build in its process (JIT compilation included), 'warm' a second, identical build "
               "right after it.")
    out.append("")
    runs = max([r.get("runs", 1) for r in vecrec_reports] + [p.get("runs", 1) for p in peers["results"]])
    if runs > 1:
        out.append(f"Each engine ran {runs} times, alternating with the others (RUNS={runs}); every figure is its best run: "
                   "the most QPS and the least train + add time.")
        out.append("")
    out.append("| VecRec | nprobe | R | 10-R@10 | 1-R@1 | batch QPS | single QPS | peer | peer batch QPS | x batch | "
               "peer single QPS | x single | note | train+add s | warm train+add s | peer train+add s | x build | x build warm | "
               "B/vec | peer B/vec |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        out.append(f"| {r['vecrec']} | {r['nprobe'] or '-'} | {r['refine']} | {r['recall_10_at_10']:.4f} | {r['recall_1_at_1']:.4f} | "
                   f"{r['vecrec_batch_qps']:.0f} | {r['vecrec_single_qps']:.0f} | {r['peer']} | {fmt(r['peer_batch_qps'])} | "
                   f"{fmt(r['batch_ratio'], 2)} | {fmt(r['peer_single_qps'])} | {fmt(r['single_ratio'], 2)} | "
                   f"{'' if r['status'] == 'ok' else r['status']} | {r['vecrec_train_add_s']:.2f} | "
                   f"{fmt(r['vecrec_warm_train_add_s'], 2)} | {r['peer_train_add_s']:.2f} | "
                   f"{fmt(r['build_ratio'], 2)} | {fmt(r['warm_build_ratio'], 2)} | {r['vecrec_bytes_per_vector']:.1f} | "
                   f"{r['peer_bytes_per_vector']:.1f} |")
    out.append("")
    out.append("Peer curves (10-recall@10 / batch QPS / single QPS):")
    out.append("")
    out.append("| peer | param | 10-R@10 | 1-R@1 | batch QPS | single QPS | train+add s | B/vec |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for p in peers["results"]:
        out.append(f"| {p['engine']} | {p['param']}={p['value']} | {p['recall_10_at_10']:.4f} | {p['recall_1_at_1']:.4f} | "
                   f"{p['batch_qps']:.0f} | {p['single_qps']:.0f} | {p['train_s'] + p['add_s']:.2f} | {p['bytes_per_vector']:.1f} |")
    return "\n".join(out) + "\n"


def merge_peers(files):
    """One peers report from several files: FAISS engine names get their build's label. The same engine and parameter
    from several runs (bench/fastscan-compare.sh with RUNS > 1) keep their best figures: the most batch and single QPS
    and the least train + add time (recall and memory do not change between runs)."""
    merged = dict(files[0])
    merged["results"] = []
    merged["faiss_builds"] = []
    index = {}
    for f in files:
        label = "native" if f.get("faiss_pythonpath") else "debian"
        build = dict(label=label, module=f.get("faiss_build"), pythonpath=f.get("faiss_pythonpath"), version=f.get("faiss_version"))
        if build not in merged["faiss_builds"]:
            merged["faiss_builds"].append(build)
        if f["count"] != merged["count"] or f["queries"] != merged["queries"] or f["metric"] != merged["metric"]:
            raise SystemExit("the --peers files describe different runs (count/queries/metric)")
        for row in f["results"]:
            row = dict(row)
            if row["engine"].startswith("faiss "):
                row["engine"] = f"faiss[{label}] " + row["engine"][len("faiss "):]
            key = (row["engine"], row["param"], row["value"])
            if key not in index:
                row["runs"] = 1
                index[key] = row
                merged["results"].append(row)
                continue
            best = index[key]
            best["runs"] += 1
            best["batch_qps"] = max(best["batch_qps"], row["batch_qps"])
            best["single_qps"] = max(best["single_qps"], row["single_qps"])
            if row["train_s"] + row["add_s"] < best["train_s"] + best["add_s"]:
                best["train_s"], best["add_s"] = row["train_s"], row["add_s"]
    merged["faiss_version"] = ", ".join(f"{b['label']} {b['version']}" for b in merged["faiss_builds"])
    return merged


def merge_reports(reports):
    """VecRec reports of the same engine from several runs, merged like merge_peers: per (nprobe, R) the most batch and
    single QPS, and the least train + add (first build and warm build) of the runs."""
    merged = {}
    for r in reports:
        engine = r["engine"]
        if engine not in merged:
            m = dict(r)
            m["points"] = [dict(p) for p in r["points"]]
            m["runs"] = 1
            merged[engine] = m
            continue
        m = merged[engine]
        m["runs"] += 1
        if r["trainSeconds"] + r["addSeconds"] < m["trainSeconds"] + m["addSeconds"]:
            m["trainSeconds"], m["addSeconds"] = r["trainSeconds"], r["addSeconds"]
        if r.get("warmTrainSeconds") is not None and (m.get("warmTrainSeconds") is None or
                                                       r["warmTrainSeconds"] + r["warmAddSeconds"] < m["warmTrainSeconds"] + m["warmAddSeconds"]):
            m["warmTrainSeconds"], m["warmAddSeconds"] = r["warmTrainSeconds"], r["warmAddSeconds"]
        points = {(p["nProbe"], p["refine"]): p for p in m["points"]}
        for p in r["points"]:
            q = points.get((p["nProbe"], p["refine"]))
            if q is None:
                m["points"].append(dict(p))
                continue
            q["batchQps"] = max(q["batchQps"], p["batchQps"])
            q["singleQps"] = max(q["singleQps"], p["singleQps"])
    return list(merged.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peers", required=True, action="append")
    ap.add_argument("--out", required=True, help="output path without extension")
    ap.add_argument("--title", default=None)
    ap.add_argument("vecrec", nargs="+")
    a = ap.parse_args()
    peers = merge_peers([load(p) for p in a.peers]) if len(a.peers) > 1 else load(a.peers[0])
    reports = [load(p) for p in a.vecrec]
    for p, r in zip(a.vecrec, reports):
        if r.get("kind") != "ann":
            raise SystemExit(f"{p} is not a Vec.Bench ann report")
        if r["count"] != peers["count"] or r["queries"] != peers["queries"] or r["config"]["metric"] != peers["metric"]:
            raise SystemExit(f"{p} and {a.peers} describe different runs (count/queries/metric)")
    reports = merge_reports(reports)
    rows = compare(reports, peers)
    title = a.title or f"VecRec vs FAISS IVFPQ / hnswlib: {peers['dataset']} ({peers['metric']})"
    md = markdown(title, reports, peers, rows)
    write_atomic(a.out + ".md", md)
    write_atomic(a.out + ".json", json.dumps(dict(kind="ann-compare", title=title, smoke=peers.get("smoke"),
                                                   vecrec=reports, peers=peers, comparison=rows), indent=2))
    print(md)
    print(f"wrote {a.out}.md and {a.out}.json")


if __name__ == "__main__":
    main()
