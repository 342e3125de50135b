#!/usr/bin/python3
"""PyTorch peer for VecRec's sentence-embedding benchmark (all-MiniLM-L6-v2).

What it stands in for
    sentence-transformers' ``SentenceTransformer.encode()`` (not installable here: no PyPI). That pipeline is
    HF fast tokenizer -> sort the texts by length, longest first -> batches of ``batch_size`` padded to the batch's
    longest text -> torch ``BertModel`` forward -> mean pooling under the attention mask -> L2 normalisation ->
    results back in input order. This script runs everything after the tokenizer with the same torch operations
    as transformers' eager ``BertModel`` (F.linear, additive mask (1 - mask) * finfo(float32).min, softmax,
    erf GELU, LayerNorm eps 1e-12) and sentence-transformers' Pooling (mean, clamp 1e-9) + Normalize modules.

What it measures
    Texts per second from token ids already in memory to L2-normalised embeddings in input order: sorting,
    building each padded batch (int64 ids, attention mask, token types 0), the float32 BERT forward under
    ``torch.inference_mode()`` on ``--threads`` intra-op threads, pooling, normalising and copying into the result
    matrix. For each ``--batch-sizes`` entry: one warm-up pass over a prefix of the set, then ``--repeats`` timed
    passes over the whole set; the best is reported.

What it does NOT measure
    Tokenisation: the HF fast tokenizer (Rust) is not available here, so the .NET side writes the token ids
    ([CLS] ... [SEP], truncated to 256) to a file and both sides are compared on the model part. Model loading is
    not timed. Sorting is by token count (what determines the padding; sentence-transformers sorts by character
    length, which orders texts almost the same way), and the sort is stable.

Weights
    Read from the ONNX graph's initializers (onnx.numpy_helper.to_array). Every dense layer's weight is found by
    following the graph: the Add node that consumes ``<layer>.bias`` adds it to the output of a MatMul whose other
    input is the weight in (in, out) layout, whatever its name (``<layer>.weight_t``, ``onnx::MatMul_123``, ...);
    a plain ``<layer>.weight`` in torch's (out, in) layout is the fallback. Shapes are checked against config.json.

Input (--ids FILE)
    little-endian int32 ``count``, then per text int32 ``length`` followed by ``length`` int32 token ids.

Output (--json FILE)
    {"peer": "torch <version> BERT forward (sentence-transformers encode pipeline without tokenisation)",
     "threads": T, "results": [{"batch_size": b, "texts_per_s": x, "seconds": s}], "embeddings_file": ...}
    plus descriptive extras. With --embeddings-out FILE: float32 little-endian row-major count x hidden embeddings
    of the set in input order, from the batch-size-32 pass. Files are written atomically (temp file + rename).

Run with /usr/bin/python3 (Debian's python3-torch and python3-onnx). Debian's torch does its dense layers through
OpenBLAS (0.3.21, OpenMP); on the Zen 5 build machine it picks its AVX-512 Cooperlake kernels by itself
(OPENBLAS_VERBOSE=2 prints the core), so no OPENBLAS_CORETYPE is needed. Its ATen kernels use AVX2.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

PEER_NAME = f"torch {torch.__version__} BERT forward (sentence-transformers encode pipeline without tokenisation)"
EMBEDDINGS_BATCH_SIZE = 32


# ----------------------------------------------------------------------------------------------------------- weights

def _dense_weight(prefix, inits, producers, consumers):
    """Weight of the dense layer ``prefix`` as a (out, in) contiguous float32 tensor, found through the graph."""
    bias_name = prefix + ".bias"
    for node in consumers.get(bias_name, ()):
        if node.op_type != "Add":
            continue
        other = [i for i in node.input if i != bias_name]
        if len(other) != 1:
            continue
        mm = producers.get(other[0])
        if mm is None or mm.op_type != "MatMul":
            continue
        weight_inputs = [i for i in mm.input if i in inits]
        if len(weight_inputs) != 1 or mm.input[1] != weight_inputs[0]:
            continue
        w = inits[weight_inputs[0]]  # x @ W: (in, out)
        return torch.from_numpy(np.array(w.T, dtype=np.float32, order="C"))
    if prefix + ".weight" in inits:  # torch layout (out, in)
        return torch.from_numpy(np.array(inits[prefix + ".weight"], dtype=np.float32, order="C"))
    raise SystemExit(f"model.onnx: cannot find the weight of dense layer '{prefix}' (no MatMul feeding the Add of "
                     f"'{bias_name}' and no '{prefix}.weight' initializer)")


def load_model(model_dir):
    """Returns (config dict, weights dict of float32 torch tensors) for a BERT sentence model folder."""
    config_path = os.path.join(model_dir, "config.json")
    onnx_path = os.path.join(model_dir, "model.onnx")
    for p in (config_path, onnx_path):
        if not os.path.isfile(p):
            raise SystemExit(f"--model: {p} not found")
    with open(config_path, encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("model_type") not in (None, "bert"):
        raise SystemExit(f"{config_path}: model_type '{cfg.get('model_type')}' is not bert")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise SystemExit(f"{config_path}: hidden_act '{cfg.get('hidden_act')}' is not supported (only gelu)")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise SystemExit(f"{config_path}: only absolute position embeddings are supported")

    graph = onnx.load(onnx_path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers, consumers = {}, {}
    for node in graph.node:
        for o in node.output:
            producers[o] = node
        for i in node.input:
            consumers.setdefault(i, []).append(node)

    def plain(name):
        if name not in inits:
            raise SystemExit(f"model.onnx: initializer '{name}' not found")
        return torch.from_numpy(np.array(inits[name], dtype=np.float32, order="C"))

    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    w = {
        "word": plain("embeddings.word_embeddings.weight"),
        "pos": plain("embeddings.position_embeddings.weight"),
        "type": plain("embeddings.token_type_embeddings.weight"),
        "emb_ln_w": plain("embeddings.LayerNorm.weight"),
        "emb_ln_b": plain("embeddings.LayerNorm.bias"),
        "layers": [],
    }
    expect = {"word": (cfg["vocab_size"], H), "pos": (cfg["max_position_embeddings"], H),
              "type": (cfg["type_vocab_size"], H), "emb_ln_w": (H,), "emb_ln_b": (H,)}
    for k, shape in expect.items():
        if tuple(w[k].shape) != shape:
            raise SystemExit(f"model.onnx: {k} has shape {tuple(w[k].shape)}, config.json says {shape}")
    dense = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "inter": ("intermediate.dense", I, H), "out": ("output.dense", H, I)}
    for li in range(L):
        p = f"encoder.layer.{li}."
        layer = {}
        for key, (name, n_out, n_in) in dense.items():
            wt = _dense_weight(p + name, inits, producers, consumers).float()
            bt = plain(p + name + ".bias")
            if tuple(wt.shape) != (n_out, n_in) or tuple(bt.shape) != (n_out,):
                raise SystemExit(f"model.onnx: {p + name} has weight {tuple(wt.shape)} / bias {tuple(bt.shape)}, "
                                 f"expected ({n_out}, {n_in}) / ({n_out},)")
            layer[key + "_w"], layer[key + "_b"] = wt, bt
        for key, name in (("ln1", "attention.output.LayerNorm"), ("ln2", "output.LayerNorm")):
            layer[key + "_w"], layer[key + "_b"] = plain(p + name + ".weight"), plain(p + name + ".bias")
        w["layers"].append(layer)
    if H % cfg["num_attention_heads"] != 0:
        raise SystemExit(f"{config_path}: hidden_size {H} is not a multiple of num_attention_heads")
    return cfg, w


# ----------------------------------------------------------------------------------------------------------- forward

class BertEncoder:
    """Eager float32 BERT forward + sentence-transformers mean pooling and Normalize, as transformers' BertModel."""

    def __init__(self, cfg, weights):
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.head_dim = self.hidden // self.heads
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.max_positions = cfg["max_position_embeddings"]
        self.vocab = cfg["vocab_size"]
        self.w = weights

    def _split_heads(self, x, b, s):
        return x.view(b, s, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, input_ids, attention_mask, token_type_ids):
        """last_hidden_state (b, s, hidden) for int64 ids / mask / token types of shape (b, s)."""
        w = self.w
        b, s = input_ids.shape
        H = self.hidden
        position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0)
        x = F.embedding(input_ids, w["word"]) + F.embedding(token_type_ids, w["type"])
        x = x + F.embedding(position_ids, w["pos"])
        x = F.layer_norm(x, (H,), w["emb_ln_w"], w["emb_ln_b"], self.eps)
        # transformers' get_extended_attention_mask: (1 - mask) * finfo(dtype).min, broadcast over heads and queries
        ext = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        scale = math.sqrt(self.head_dim)
        for lw in w["layers"]:
            q = self._split_heads(F.linear(x, lw["q_w"], lw["q_b"]), b, s)
            k = self._split_heads(F.linear(x, lw["k_w"], lw["k_b"]), b, s)
            v = self._split_heads(F.linear(x, lw["v_w"], lw["v_b"]), b, s)
            scores = torch.matmul(q, k.transpose(-1, -2)) / scale
            probs = torch.softmax(scores + ext, dim=-1)
            ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(b, s, H)
            x = F.layer_norm(F.linear(ctx, lw["ao_w"], lw["ao_b"]) + x, (H,), lw["ln1_w"], lw["ln1_b"], self.eps)
            inter = F.gelu(F.linear(x, lw["inter_w"], lw["inter_b"]))
            x = F.layer_norm(F.linear(inter, lw["out_w"], lw["out_b"]) + x, (H,), lw["ln2_w"], lw["ln2_b"], self.eps)
        return x

    def embed(self, input_ids, attention_mask):
        """Mean pooling under the mask + L2 normalisation (sentence-transformers Pooling + Normalize modules)."""
        token_type_ids = torch.zeros_like(input_ids)
        tokens = self.forward(input_ids, attention_mask, token_type_ids)
        m = attention_mask.unsqueeze(-1).expand(tokens.size()).float()
        pooled = torch.sum(tokens * m, 1) / torch.clamp(m.sum(1), min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


# ------------------------------------------------------------------------------------------------------------ input

def read_ids(path, max_length, vocab):
    """Token id lists from the .NET side's binary file, validated."""
    try:
        raw = np.fromfile(path, dtype="<i4")
    except OSError as e:
        raise SystemExit(f"--ids: cannot read {path}: {e}")
    if os.path.getsize(path) % 4 != 0:
        raise SystemExit(f"--ids: {path}: size {os.path.getsize(path)} is not a multiple of 4")
    if raw.size == 0:
        raise SystemExit(f"--ids: {path}: empty file")
    count = int(raw[0])
    if count <= 0:
        raise SystemExit(f"--ids: {path}: text count {count} must be positive")
    texts, pos = [], 1
    for t in range(count):
        if pos >= raw.size:
            raise SystemExit(f"--ids: {path}: truncated at text {t} of {count}")
        n = int(raw[pos])
        pos += 1
        if n <= 0 or n > max_length:
            raise SystemExit(f"--ids: {path}: text {t} has length {n}, expected 1..{max_length}")
        if pos + n > raw.size:
            raise SystemExit(f"--ids: {path}: truncated inside text {t} of {count}")
        ids = raw[pos:pos + n].astype(np.int64)
        pos += n
        if ids.min() < 0 or ids.max() >= vocab:
            raise SystemExit(f"--ids: {path}: text {t} has a token id outside 0..{vocab - 1}")
        texts.append(ids)
    if pos != raw.size:
        raise SystemExit(f"--ids: {path}: {raw.size - pos} trailing int32 words after {count} texts")
    return texts


def write_ids(path, texts):
    """Writes token id lists in the --ids format (for tests and hand-made sets)."""
    parts = [np.array([len(texts)], dtype="<i4")]
    for ids in texts:
        parts.append(np.array([len(ids)], dtype="<i4"))
        parts.append(np.asarray(ids, dtype="<i4"))
    _atomic_write(path, np.concatenate(parts).tobytes())


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------------------------------------- encode

def plan_batches(lengths, batch_size, fixed_padding, max_length):
    """List of (indices, padded length): sentence-transformers' order (stable sort by length, longest first) or,
    with fixed padding, input order with every batch padded to max_length."""
    n = len(lengths)
    if fixed_padding:
        order = np.arange(n)
    else:
        order = np.argsort(-np.asarray(lengths), kind="stable")
    batches = []
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        batches.append((idx, max_length if fixed_padding else int(max(lengths[i] for i in idx))))
    return batches


def encode(model, texts, batch_size, fixed_padding=False, max_length=256, out=None):
    """Embeddings (n, hidden) float32 in input order."""
    lengths = [len(t) for t in texts]
    if out is None:
        out = np.empty((len(texts), model.hidden), dtype=np.float32)
    with torch.inference_mode():
        for idx, width in plan_batches(lengths, batch_size, fixed_padding, max_length):
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for r, i in enumerate(idx):
                ids[r, :lengths[i]] = texts[i]
                mask[r, :lengths[i]] = 1
            emb = model.embed(torch.from_numpy(ids), torch.from_numpy(mask))
            out[idx] = emb.numpy()
    return out


def time_batch_size(model, texts, batch_size, repeats, warmup_texts, fixed_padding, max_length):
    out = np.empty((len(texts), model.hidden), dtype=np.float32)
    encode(model, texts[:max(warmup_texts, batch_size)], batch_size, fixed_padding, max_length)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        encode(model, texts, batch_size, fixed_padding, max_length, out)
        best = min(best, time.perf_counter() - t0)
    return best, out


def _positive_ints(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': batch sizes must be positive integers")
    return values


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
    if v <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be positive")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model folder with model.onnx and config.json")
    ap.add_argument("--ids", required=True, help="binary token id file written by the .NET side")
    ap.add_argument("--json", required=True, help="where to write the JSON result")
    ap.add_argument("--texts-name", default=None, help="name of the text set, echoed into the JSON")
    ap.add_argument("--batch-sizes", type=_positive_ints, default=[1, 8, 32, 128, 256])
    ap.add_argument("--repeats", type=_positive_int, default=3, help="timed passes per batch size (best kept)")
    ap.add_argument("--threads", type=_positive_int, default=os.cpu_count() or 1, help="torch intra-op threads")
    ap.add_argument("--warmup-texts", type=_positive_int, default=256,
                    help="size of the input-order prefix used for the warm-up pass (at least one batch)")
    ap.add_argument("--fixed-padding", action="store_true",
                    help="pad every batch to --max-length in input order (no length sorting)")
    ap.add_argument("--max-length", type=_positive_int, default=256, help="truncation length of the ids file")
    ap.add_argument("--embeddings-out", default=None,
                    help="write count x hidden float32 embeddings (batch size 32 pass) to this file")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    cfg, weights = load_model(args.model)
    if args.max_length > cfg["max_position_embeddings"]:
        ap.error(f"--max-length {args.max_length} exceeds max_position_embeddings {cfg['max_position_embeddings']}")
    model = BertEncoder(cfg, weights)
    texts = read_ids(args.ids, args.max_length, cfg["vocab_size"])

    results, kept = [], None
    for b in args.batch_sizes:
        seconds, emb = time_batch_size(model, texts, b, args.repeats, args.warmup_texts, args.fixed_padding,
                                       args.max_length)
        results.append({"batch_size": b, "texts_per_s": len(texts) / seconds, "seconds": seconds})
        print(f"batch {b:4d}: {len(texts) / seconds:10.1f} texts/s ({seconds:.3f} s)", file=sys.stderr)
        if b == EMBEDDINGS_BATCH_SIZE:
            kept = emb
    if args.embeddings_out is not None:
        if kept is None:  # 32 was not among the timed batch sizes: one untimed pass
            kept = encode(model, texts, EMBEDDINGS_BATCH_SIZE, args.fixed_padding, args.max_length)
        if not np.all(np.isfinite(kept)):
            raise SystemExit("embeddings contain non-finite values; not writing them")
        _atomic_write(args.embeddings_out, np.ascontiguousarray(kept, dtype="<f4").tobytes())

    lengths = [len(t) for t in texts]
    report = {
        "peer": PEER_NAME,
        "threads": torch.get_num_threads(),
        "results": results,
        "embeddings_file": os.path.abspath(args.embeddings_out) if args.embeddings_out else None,
        "texts_name": args.texts_name,
        "count": len(texts),
        "mean_tokens": float(np.mean(lengths)),
        "max_tokens": int(max(lengths)),
        "fixed_padding": args.fixed_padding,
        "max_length": args.max_length,
        "repeats": args.repeats,
        "dimension": model.hidden,
        "model": os.path.abspath(args.model),
    }
    _atomic_write(args.json, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
