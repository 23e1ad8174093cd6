"""Writes a copy of an LSeg model package whose image encoder computes in float16 (inputs and outputs stay float32).

Run by scripts/gpu-check.sh on the GPU machine, which has Python's onnx and onnxruntime (whose
onnxruntime.transformers.float16 does the conversion). A package exported with --float16 stores float16 weights
followed by Cast-to-float nodes; those are first folded back into float32 weights so the converter sees a plain
float32 graph. Usage: python3 float16_package.py SOURCE_PACKAGE DESTINATION
"""
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.transformers.float16 import convert_float_to_float16


def plain_float32(model):
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    kept = []
    for node in graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        source = initializers.get(node.input[0]) if node.op_type == "Cast" and node.input else None
        if source is not None and to == onnx.TensorProto.FLOAT and source.data_type == onnx.TensorProto.FLOAT16:
            graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(source).astype(np.float32), node.output[0]))
            continue
        kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    still = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(still)
    return model


def main(source, destination):
    shutil.rmtree(destination, ignore_errors=True)
    shutil.copytree(source, destination)
    with open(os.path.join(source, "manifest.json")) as f:
        manifest = json.load(f)
    name = manifest["graphs"]["imageEncoder"]
    path = os.path.join(destination, name)
    model = convert_float_to_float16(plain_float32(onnx.load(path)), keep_io_types=True)
    onnx.save(model, path)
    with open(path, "rb") as f:
        data = f.read()
    manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with open(os.path.join(destination, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"wrote {destination}: {name} computing in float16 ({len(data) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
