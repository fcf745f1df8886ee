"""Entity predictions through OpenVINO, without torch or transformers.

A model version of the entities kind carries ``model.onnx`` beside its weights: the encoder
and its tag head as an ONNX graph, written when the version is saved
(:mod:`core.engine.onnx_export`) and checked there against torch. The graph holds no
weights of its own: each initializer is ONNX *external data* at its tensor's byte offsets
inside the version's ``model.safetensors``, so the weights are on disk once and the
checksum of ``annotator.json`` covers them; the graph has a checksum of its own.

OpenVINO reads the graph and compiles it for the CPU. Loading it imports openvino and
tokenizers (about 0.3 s here) instead of torch and transformers (about 5 s), which is most
of what ``annotator predict`` waited for before its first prediction. At precision "fp32"
the outputs agree with torch's fp32 within 1e-4 (checked at export); at "auto" OpenVINO
computes in bf16 where the CPU multiplies bf16 natively (AVX-512 BF16 or AMX), as torch's
"auto" does, and in fp32 elsewhere. :class:`core.engine.predict.Predictor` picks it where
it applies (:func:`onnx_applies`); evaluation, embeddings and int8 quantisation keep torch.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.engine.batching import inference_batches, pad_inputs
from core.errors import ModelError

ONNX_FILE = "model.onnx"
# Graph inputs: the ids and the mask (an entity model's token types are all 0).
INPUTS = ("input_ids", "attention_mask")


def gpu_likely() -> bool:
    """Whether torch would find a GPU here (CUDA, ROCm or Apple's), guessed without
    importing torch: there torch on the GPU beats OpenVINO on the CPU."""
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/kfd", "/dev/dxg"))


def missing_graph(info: dict[str, Any]) -> str | None:
    """Why the model version described by ``info`` (its ``annotator.json``) has no graph to
    predict with, said for its user; None when it has one."""
    graph = info.get("onnx")
    if isinstance(graph, dict) and graph.get("sha256"):
        return None
    if isinstance(graph, dict) and graph.get("error"):
        return f"its ONNX graph failed the check ({graph['error']})"
    return "it was saved without an ONNX graph (by a release before graphs were written)"


def onnx_applies(info: dict[str, Any], *, precision: str, device: str) -> bool:
    """Whether predictions of the model described by ``info`` (its ``annotator.json``) at
    ``precision`` on ``device`` run through OpenVINO when the choice is left to the engine:
    the version has a checked graph, the precision is "fp32" or left to the engine
    ("auto"), the CPU computes, openvino is installed, and torch is not loaded in this
    process yet. Where it is (the app, a script that trained), its import is paid for, and
    torch keeps predicting. An explicit "bf16" stays with torch, which computes it on any
    CPU."""
    if missing_graph(info) is not None:
        return False
    if "torch" in sys.modules:
        return False
    if precision not in ("auto", "fp32") or device not in ("auto", "cpu"):
        return False
    if device == "auto" and gpu_likely():
        return False
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


class _Encoding:
    """The slice of transformers' ``BatchEncoding`` the feature builders read."""

    def __init__(self, encodings: list[Any], *, single: bool) -> None:
        self._encodings = encodings
        self._single = single  # one text: values are flat lists, as transformers gives them

    def __getitem__(self, key: str) -> Any:
        if key == "input_ids":
            values = [e.ids for e in self._encodings]
        elif key == "token_type_ids":
            values = [e.type_ids for e in self._encodings]
        else:
            raise KeyError(key)
        return values[0] if self._single else values

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def word_ids(self, row: int = 0) -> list[int | None]:
        return list(self._encodings[row].word_ids)

    def sequence_ids(self, row: int = 0) -> list[int | None]:
        return list(self._encodings[row].sequence_ids)


class FileTokenizer:
    """A model version's ``tokenizer.json`` read by the tokenizers library alone: the calls
    the entity feature builder makes (words in, ids and word ids out; the probes of
    :func:`core.engine.features.special_template`), encoded as transformers' fast
    tokenizer encodes them (checked at export: :func:`same_encodings`)."""

    is_fast = True

    def __init__(self, path: Path) -> None:
        import json

        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.name_or_path = str(path)
        pad = None
        config = path / "tokenizer_config.json"
        if config.is_file():
            pad = json.loads(config.read_text("utf-8")).get("pad_token")
            if isinstance(pad, dict):
                pad = pad.get("content")
        pad_id = self._tok.token_to_id(pad) if isinstance(pad, str) else None
        self.pad_token_id = int(pad_id) if pad_id is not None else 0

    def __len__(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def __call__(self, text: Any, text_pair: Any = None, *, is_split_into_words: bool = False,
                 add_special_tokens: bool = True, **_ignored: Any) -> _Encoding:
        if isinstance(text, str):  # one text (or pair), as the template probes ask
            return _Encoding([self._tok.encode(text, text_pair,
                                               add_special_tokens=add_special_tokens)],
                             single=True)
        return _Encoding(self._tok.encode_batch(
            list(text), is_pretokenized=is_split_into_words,
            add_special_tokens=add_special_tokens), single=False)


class OnnxModel:
    """A model version's graph compiled by OpenVINO; computes a tagger's logits."""

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self._request = compiled.create_infer_request()  # one at a time, as a Predictor runs

    @property
    def precision(self) -> str:
        """What the compiled graph computes in: "bf16" or "fp32"."""
        hint = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        return "bf16" if "bf16" in hint or "bfloat16" in hint else "fp32"

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Logits ``(batch, length, n)`` of one padded batch (a fresh array)."""
        return self._request.infer({"input_ids": ids, "attention_mask": mask})[0]

    def forward_features(self, features: Sequence[Any], *, batch_size: int,
                         pad_id: int) -> list[np.ndarray]:
        """Logits ``(len, n_tags)`` (or ``(len, labels * 3)``) of each feature, cropped to
        its length, in input order; batches sorted by length as torch's path does."""
        outputs: list[Any] = [None] * len(features)
        lengths = [len(f) for f in features]
        for idx in inference_batches(lengths, batch_size):
            ids, mask, _ = pad_inputs([features[i] for i in idx], pad_id)
            logits = self.run(ids, mask)
            for row, i in enumerate(idx):
                outputs[i] = logits[row, : lengths[i]]
        return outputs


def import_openvino() -> Any:
    """The openvino module, without its usage telemetry. ``import openvino`` reports the
    import to Intel and writes a client id under ``~/intel`` unless the user opted out
    (the telemetry is opt-out); where the ``openvino_telemetry`` package cannot be
    imported, OpenVINO falls back to its own stub that sends nothing. A tool for clinical
    notes sends nothing, so this process makes that package unimportable before OpenVINO
    loads (a process that imported OpenVINO already keeps its own choice)."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
    import openvino

    return openvino


def compile_graph(graph: Path, precision: str = "auto") -> OnnxModel:
    """``graph`` compiled for the CPU at ``precision``: "fp32", or "auto" (OpenVINO's
    choice: bf16 where the CPU computes it natively, else fp32). Raises ModelError."""
    ov = import_openvino()

    # One stream on the physical cores (OpenVINO's latency setting): one batch at a time,
    # as the Predictor sends them.
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if precision == "fp32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
    elif precision != "auto":
        raise ModelError(f"the ONNX graph computes at precision auto or fp32 (got {precision!r}); "
                         "torch computes bf16 (backend torch)")
    try:
        core = ov.Core()
        return OnnxModel(core.compile_model(core.read_model(str(graph)), "CPU", config))
    except Exception as exc:
        raise ModelError(f"{graph}: OpenVINO cannot load it ({exc})") from exc


def load_onnx(path: Path, info: dict[str, Any], precision: str = "auto"
              ) -> tuple[OnnxModel, FileTokenizer]:
    """The compiled graph (at ``precision``, see :func:`compile_graph`) and tokenizer of
    model directory ``path`` (its ``annotator.json`` is ``info``, already checked by
    :func:`core.engine.modelio.check_model_dir`). Refuses a graph whose checksum differs
    from the one recorded when it was written."""
    from core.engine.modelio import sha256_file

    graph = path / ONNX_FILE
    if not graph.is_file():
        raise ModelError(f"{path}: {ONNX_FILE} is recorded in annotator.json but missing")
    if sha256_file(graph) != info["onnx"]["sha256"]:
        raise ModelError(
            f"{graph} does not match the checksum recorded when it was saved: the file is "
            "truncated or was altered. Delete it (predictions then use torch) or retrain"
        )
    return compile_graph(graph, precision), FileTokenizer(path)
