#!/usr/bin/python3
"""Fidelity check of minilm_torch.py against the model folder's reference_embeddings.json.

Feeds the reference `token_ids` through the torch peer (batch size 1 = no padding, and the whole set as one
length-sorted padded batch, and with fixed padding to 256) and through the command line (ids file -> embeddings
file), and compares with the reference `embeddings` (float64 numpy forward). Fails (exit 1) when the max abs error
exceeds --tolerance (default 1e-5), or when bad input files are not rejected.

    /usr/bin/python3 bench/peers/check_minilm_torch.py [--model ../shared/models/all-MiniLM-L6-v2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep bench/peers free of new __pycache__ files
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minilm_torch as mt  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("VECREC_SHARED", os.path.join(here, "..", "..", "..", "shared"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(shared, "models", "all-MiniLM-L6-v2"))
    ap.add_argument("--tolerance", type=float, default=1e-5)
    args = ap.parse_args()

    with open(os.path.join(args.model, "reference_embeddings.json"), encoding="utf-8") as f:
        ref = json.load(f)
    texts = [np.asarray(t, dtype=np.int64) for t in ref["token_ids"]]
    expected = np.asarray(ref["embeddings"], dtype=np.float64)

    torch.set_num_threads(2)
    cfg, weights = mt.load_model(args.model)
    model = mt.BertEncoder(cfg, weights)
    failures = []

    def check(name, got):
        err = float(np.max(np.abs(got.astype(np.float64) - expected)))
        ok = err <= args.tolerance
        print(f"{name:40s} max abs error {err:.3e} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)

    check("batch 1 (no padding)", mt.encode(model, texts, 1))
    check(f"batch {len(texts)} (sorted, padded)", mt.encode(model, texts, len(texts)))
    check("batch 4 fixed padding to 256", mt.encode(model, texts, 4, fixed_padding=True))

    with tempfile.TemporaryDirectory() as tmp:
        ids_path = os.path.join(tmp, "ref.ids")
        emb_path = os.path.join(tmp, "ref.f32")
        json_path = os.path.join(tmp, "ref.json")
        mt.write_ids(ids_path, texts)
        cmd = [sys.executable, os.path.join(here, "minilm_torch.py"), "--model", args.model, "--ids", ids_path,
               "--json", json_path, "--batch-sizes", "1,32", "--repeats", "1", "--threads", "2",
               "--texts-name", "reference", "--embeddings-out", emb_path]
        subprocess.run(cmd, check=True)
        got = np.fromfile(emb_path, dtype="<f4").reshape(len(texts), -1)
        check("command line, --embeddings-out", got)
        with open(json_path, encoding="utf-8") as f:
            report = json.load(f)
        if [r["batch_size"] for r in report["results"]] != [1, 32] or report["texts_name"] != "reference" \
                or not all(r["texts_per_s"] > 0 for r in report["results"]):
            failures.append("json report")
            print("json report FAIL:", report)

        # bad inputs must be rejected with a message, not crash or produce output
        bad = {
            "truncated": np.array([2, 3, 101, 102], dtype="<i4"),
            "zero length": np.array([1, 0], dtype="<i4"),
            "too long": np.concatenate([np.array([1, 257], dtype="<i4"), np.full(257, 101, dtype="<i4")]),
            "id out of vocab": np.array([1, 2, 101, 30522], dtype="<i4"),
            "trailing words": np.array([1, 2, 101, 102, 7], dtype="<i4"),
            "negative count": np.array([-1], dtype="<i4"),
        }
        for name, words in bad.items():
            path = os.path.join(tmp, "bad.ids")
            words.tofile(path)
            out_json = os.path.join(tmp, "bad.json")
            r = subprocess.run([sys.executable, os.path.join(here, "minilm_torch.py"), "--model", args.model,
                                "--ids", path, "--json", out_json, "--batch-sizes", "1", "--repeats", "1"],
                               capture_output=True, text=True)
            rejected = r.returncode != 0 and "--ids" in r.stderr and not os.path.exists(out_json)
            print(f"bad input: {name:31s} {'rejected' if rejected else 'FAIL'}: {(r.stderr.strip().splitlines() or [''])[-1][:100]}")
            if not rejected:
                failures.append("bad input: " + name)

    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
