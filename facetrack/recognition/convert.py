"""Convert the packaged SFace (int8, block-quantized) into a plain float32 ONNX file.

The packaged file runs on OpenCV's ``FaceRecognizerSF`` only: its weights are int8 blocks
dequantized by opset-21 ``DequantizeLinear`` nodes and it still declares the dequantized weights
as graph inputs, so onnxruntime refuses it. This writes the same network with float32 weights
as initializers, which any ONNX runtime loads (``recognition.embedder: onnx``). Its embeddings
match OpenCV's to a cosine of 0.99999 or better (``tests/test_onnx_embedder.py``).

    python -m facetrack.recognition.convert sface-float32.onnx

Needs the ``onnx`` package (``pip install facetrack[onnx]``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from facetrack import models
from facetrack.errors import FacetrackError, ModelError


def _dequantize(q: np.ndarray[Any, Any], scale: np.ndarray[Any, Any],
                zero: np.ndarray[Any, Any], axis: int, block: int) -> np.ndarray[Any, Any]:
    """ONNX DequantizeLinear (opset 21): ``(q - zero) * scale``, where ``scale`` and ``zero``
    hold one value per ``block`` consecutive elements along ``axis`` (``block`` 0: one value
    per slice along ``axis``; a single value: per tensor)."""
    q = q.astype(np.float32)
    scale, zero = scale.astype(np.float32), zero.astype(np.float32)
    if scale.size == 1:
        return np.asarray((q - zero.reshape(())) * scale.reshape(()), np.float32)
    axis = axis % q.ndim
    if block <= 0:  # per axis: one value per slice along ``axis``
        shape = [1] * q.ndim
        shape[axis] = -1
        return np.asarray((q - zero.reshape(shape)) * scale.reshape(shape), np.float32)
    s = np.repeat(scale, block, axis=axis)
    z = np.repeat(zero, block, axis=axis)
    index = [slice(None)] * q.ndim
    index[axis] = slice(0, q.shape[axis])
    return np.asarray((q - z[tuple(index)]) * s[tuple(index)], np.float32)


def sface_to_float32(dst: str | Path, src: str | Path | None = None) -> Path:
    """Write ``src`` (default: the packaged SFace) to ``dst`` with float32 weights."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise ModelError("converting a model needs the onnx package: "
                         "pip install 'facetrack[onnx]'") from None
    source = Path(src) if src is not None else models.locate("sface")
    model = onnx.load(str(source))
    graph = model.graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded: dict[str, np.ndarray[Any, Any]] = {}
    kept = []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(
                i in tensors for i in node.input if i):
            attrs = {a.name: a.i for a in node.attribute}
            q, scale = tensors[node.input[0]], tensors[node.input[1]]
            zero = (tensors[node.input[2]] if len(node.input) > 2 and node.input[2]
                    else np.zeros_like(scale))
            folded[node.output[0]] = _dequantize(
                q, scale, zero, attrs.get("axis", 1), attrs.get("block_size", 0)
            )
        elif node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in tensors:
            shape = [int(v) for v in tensors[node.input[1]]]
            folded[node.output[0]] = folded[node.input[0]].reshape(shape)
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input}
    new_inits = [t for t in graph.initializer if t.name in used]
    new_inits += [numpy_helper.from_array(np.ascontiguousarray(v, np.float32), name)
                  for name, v in folded.items() if name in used]
    have = {t.name for t in new_inits}
    inputs = [i for i in graph.input if i.name not in have and i.name in used]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    del graph.input[:]
    graph.input.extend(inputs)
    onnx.checker.check_model(model)
    out = Path(dst)
    onnx.save(model, str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m facetrack.recognition.convert OUT.onnx", file=sys.stderr)
        return 2
    try:
        out = sface_to_float32(args[0])
    except (FacetrackError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # onnx's own decode/validation errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(f"error: cannot convert: {type(exc).__name__}: {first[:200]}", file=sys.stderr)
        return 1
    print(f"wrote {out} (SFace, float32 weights; embedder: onnx, mean 0, std 1, rgb)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
