#!/usr/bin/env python3
"""Writes tiny-bert/model.onnx: a 'model' whose token embeddings are a lookup table, so pooling can be checked by hand.

Inputs input_ids, attention_mask, token_type_ids (int64, [batch, seq]). Outputs:
  last_hidden_state  = table[input_ids] + 0 * attention_mask   (float, [batch, seq, 4])
  sentence_embedding = ReduceMean(last_hidden_state, axis 1)  (float, [batch, 4]; unmasked, for the pooled-output path)
table[i] = [i, -i, i % 3, 1]. Regenerate with /usr/bin/python3 make_tiny_bert.py (needs python3-onnx); the committed
file is what the tests use.
"""
import numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper

vocab = 16
table = np.array([[i, -i, i % 3, 1] for i in range(vocab)], dtype=np.float32)
nodes = [
    helper.make_node("Gather", ["table", "input_ids"], ["emb"], axis=0),
    helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["maskf", "axes2"], ["mask3"]),
    helper.make_node("Mul", ["mask3", "zero"], ["zeros"]),
    helper.make_node("Cast", ["token_type_ids"], ["typef"], to=TensorProto.FLOAT),
    helper.make_node("Unsqueeze", ["typef", "axes2"], ["type3"]),
    helper.make_node("Mul", ["type3", "zero"], ["zeros2"]),
    helper.make_node("Add", ["emb", "zeros"], ["emb1"]),
    helper.make_node("Add", ["emb1", "zeros2"], ["last_hidden_state"]),
    helper.make_node("ReduceMean", ["last_hidden_state"], ["sentence_embedding"], axes=[1], keepdims=0),
]
graph = helper.make_graph(
    nodes, "tiny-bert",
    [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in ("input_ids", "attention_mask", "token_type_ids")],
    [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", 4]),
     helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 4])],
    [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([2], dtype=np.int64), "axes2"),
     numpy_helper.from_array(np.array(0, dtype=np.float32), "zero")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="vecrec-tests")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, "tiny-bert/model.onnx")
print("wrote tiny-bert/model.onnx")
