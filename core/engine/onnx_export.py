"""Write an entity model's ONNX graph when its version is saved (torch side).

The graph is traced from the fp32 model by torch's ONNX exporter; its weights stay in
``model.safetensors`` (each initializer becomes external data at its tensor's offsets,
see :mod:`core.engine.onnx_model`), so the graph file is a few hundred KB. Before it is
kept, OpenVINO computes a probe batch in fp32 (two inputs, one padded) and must agree with
torch within :data:`TOLERANCE`, and the tokenizers library alone must encode probe words
as transformers' tokenizer does. Anything that fails leaves no graph and records why
(predictions then use torch, as before): saving the model never fails because of it.
"""

from __future__ import annotations

import copy
import json
import struct
import warnings
from pathlib import Path
from typing import Any

from core.engine.onnx_model import INPUTS, ONNX_FILE, FileTokenizer, compile_graph

OPSET = 17
TOLERANCE = 1e-3  # largest difference of a logit, torch fp32 vs OpenVINO fp32
# Words the two tokenizers must split alike: case, accents, punctuation, digits, CJK.
PROBE_WORDS = [["Naïve", "CAFÉ", "x-ray", "1.5mg", "q.i.d.", "(IV)", "état"],
               ["Patient", "denies", "chest", "pain", "—", "dyspnœa", "見", "ok"]]


def export_onnx(model: Any, tokenizer: Any, out_dir: Path, weights: Path) -> dict[str, Any]:
    """Write ``out_dir/model.onnx`` for ``model`` (a token classifier whose weights were
    saved as ``weights``) and return what ``annotator.json`` records of it: ``file``,
    ``sha256``, ``opset``, ``inputs`` and ``max_difference``, or ``error`` alone."""
    graph = out_dir / ONNX_FILE
    try:
        return _export(model, tokenizer, graph, weights)
    except Exception as exc:  # noqa: BLE001 - the graph is an extra: say why, keep the model
        graph.unlink(missing_ok=True)
        return {"error": f"{type(exc).__name__}: {exc}"[:500]}


def add_graph(model_dir: Path, loaded: Any = None) -> dict[str, Any]:
    """Give an entity model version saved without a graph (by a release before graphs
    were written) the graph a version saved now has, checked as at save, and record it in
    its ``annotator.json``, with ``"added"`` (when); return the record (that of
    :func:`export_onnx`). A failed check is recorded too (``error``), so it is not tried
    again at every run. ``loaded``: the version's
    :class:`core.engine.modelio.LoadedModel`, when it is loaded already.

    The graph is written under a temporary name and renamed, and ``annotator.json`` is
    replaced whole after it, so a reader sees the version as it was or as it is now,
    never half-written; where the folder cannot be written (``OSError``), nothing is
    left of the attempt. Raises :class:`core.errors.ModelError` for a version that is not
    an entity model or has a graph record already."""
    import datetime as dt
    import os

    from core.engine.modelio import ANNOTATOR_JSON, WEIGHTS, check_model_dir, load_model
    from core.errors import ModelError
    from core.tasks import kind_of

    model_dir = Path(model_dir)
    info, spec = check_model_dir(model_dir)
    if not kind_of(spec.task).onnx_predicts:
        raise ModelError(f"{model_dir}: a {spec.task.value} model predicts with torch only")
    if "onnx" in info:
        raise ModelError(f"{model_dir}: the version has a graph record already")
    if loaded is None:
        loaded = load_model(model_dir, device="cpu")
    graph = model_dir / ONNX_FILE
    partial = model_dir / f".{ONNX_FILE}.{os.getpid()}.partial"
    json_partial = model_dir / f".{ANNOTATOR_JSON}.{os.getpid()}.partial"
    placed = False
    try:
        try:
            entry = _export(loaded.model, loaded.tokenizer, partial, model_dir / WEIGHTS)
        except Exception as exc:  # the check failed: recorded, no graph kept
            if isinstance(exc, OSError):  # the folder, not the graph: nothing recorded
                raise
            partial.unlink(missing_ok=True)
            entry = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        entry["added"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        json_partial.write_text(json.dumps({**info, "onnx": entry}, indent=2, default=str),
                                "utf-8")
        if "error" not in entry:
            os.replace(partial, graph)
            placed = True
        os.replace(json_partial, model_dir / ANNOTATOR_JSON)
    except OSError:
        for stray in (partial, json_partial, *((graph,) if placed else ())):
            stray.unlink(missing_ok=True)
        raise
    return entry


def _export(model: Any, tokenizer: Any, graph: Path, weights: Path) -> dict[str, Any]:
    import numpy as np
    import onnx
    import torch

    from core.engine.modelio import sha256_file

    model = getattr(model, "module", model)
    if next(model.parameters()).device.type != "cpu":
        model = copy.deepcopy(model).to("cpu")
    was_training = model.training
    attention = getattr(model.config, "_attn_implementation", None)
    switch = getattr(model, "set_attn_implementation", None)
    model.eval()
    try:
        if switch is not None and attention != "eager":
            # The eager attention traces to a smaller graph than torch's SDPA (no branches
            # that build the mask).
            switch("eager")
        wrapper = _logits_module(model).eval()  # a new module starts in training mode
        ids = torch.tensor([[2, 7, 5, 9, 3], [2, 8, 3, 0, 0]], dtype=torch.long)
        ids = ids.clamp(max=model.config.vocab_size - 1)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes are not the user's
            torch.onnx.export(
                wrapper, (ids, mask), str(graph), input_names=list(INPUTS),
                output_names=["logits"], opset_version=OPSET, dynamo=False,
                # Unfolded, every initializer is a parameter, found in the safetensors file
                # under its own name; OpenVINO folds the graph when it compiles it.
                do_constant_folding=False,
                dynamic_axes={name: {0: "batch", 1: "length"}
                              for name in (*INPUTS, "logits")},
            )
            wrapper.eval()  # the exporter puts back the mode it found
            expected = wrapper(ids, mask).float().numpy()
    finally:
        if switch is not None and attention is not None and attention != "eager":
            switch(attention)
        model.train(was_training)
    _weights_from_safetensors(onnx, graph, weights)
    got = compile_graph(graph, "fp32").run(ids.numpy(), mask.numpy())
    keep = mask.numpy().astype(bool)
    difference = float(np.abs(got[keep] - expected[keep]).max())
    if not difference <= TOLERANCE:
        raise ValueError(f"OpenVINO and torch differ by {difference:.2g} on a probe")
    _check_tokenizer(tokenizer, graph.parent)
    return {"file": ONNX_FILE, "sha256": sha256_file(graph), "opset": OPSET,
            "inputs": list(INPUTS), "max_difference": difference}


def _logits_module(model: Any) -> Any:
    """``model(input_ids, attention_mask).logits`` as a module the exporter traces."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return Logits()


def _weights_from_safetensors(onnx: Any, graph: Path, weights: Path) -> None:
    """Point every initializer of ``graph`` at its tensor in ``weights`` (the same bytes:
    float32, row-major, little-endian) instead of a copy inside the graph."""
    with weights.open("rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    start = 8 + size
    proto = onnx.load(str(graph), load_external_data=False)
    for init in proto.graph.initializer:
        entry = header.get(init.name.removeprefix("model."))
        if entry is None or entry.get("dtype") != "F32":
            raise ValueError(f"initializer {init.name} is not a float32 tensor of {weights.name}")
        if list(entry["shape"]) != list(init.dims):
            raise ValueError(f"initializer {init.name}: shape {list(init.dims)} is not "
                             f"{entry['shape']} in {weights.name}")
        begin, end = entry["data_offsets"]
        init.ClearField("raw_data")
        init.data_location = onnx.TensorProto.EXTERNAL
        del init.external_data[:]
        for key, value in (("location", weights.name), ("offset", str(start + begin)),
                           ("length", str(end - begin))):
            item = init.external_data.add()
            item.key, item.value = key, value
    onnx.save(proto, str(graph))


def _check_tokenizer(tokenizer: Any, out_dir: Path) -> None:
    """The saved ``tokenizer.json`` read alone encodes the probes as ``tokenizer`` does."""
    alone = FileTokenizer(out_dir)
    mine = alone(PROBE_WORDS, is_split_into_words=True, add_special_tokens=False)
    theirs = tokenizer(PROBE_WORDS, is_split_into_words=True, add_special_tokens=False)
    for row in range(len(PROBE_WORDS)):
        if (list(mine["input_ids"][row]) != list(theirs["input_ids"][row])
                or mine.word_ids(row) != list(theirs.word_ids(row))):
            raise ValueError("tokenizer.json read alone splits words differently")
    for text, pair in (("a", None), ("a", "b")):
        if list(alone(text, pair)["input_ids"]) != list(tokenizer(text, pair)["input_ids"]):
            raise ValueError("tokenizer.json read alone adds other special tokens")
    if alone.pad_token_id != int(tokenizer.pad_token_id or 0):
        raise ValueError("tokenizer.json read alone has another padding token")
