"""Model directories: build a model from a base, save atomically, load safely.

A model directory holds ``config.json`` (with ``id2label``/``label2id``),
``model.safetensors`` (safetensors only: nothing is ever unpickled), the tokenizer files
and ``annotator.json`` (task, labels, settings, metrics, base model, creation time and the
SHA-256 of the weights, checked on load so that a truncated or altered file is refused).
An entity model also has ``model.onnx``, a graph over those same weights for predictions
without torch (:mod:`core.engine.onnx_model`), recorded with its own SHA-256.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.engine.settings import TaskSpec, resolve_base_model
from core.errors import ModelError, TrainingError
from core.tasks import kind_of
from core.types import TaskKind

ANNOTATOR_JSON = "annotator.json"
WEIGHTS = "model.safetensors"
FORMAT_VERSION = 1


def auto_model_class(task: TaskKind) -> Any:
    """The transformers ``AutoModelFor*`` class of ``task`` (the kind's head)."""
    import transformers

    return getattr(transformers, kind_of(task).auto_model)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load-time chatter (we report what matters ourselves)."""
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    try:
        yield
    finally:
        transformers.logging.set_verbosity(level)


def add_markers(model: Any, tokenizer: Any, markers: Sequence[str]) -> None:
    """Add ``markers`` to the tokenizer as special tokens, and rows for them to the model's
    embeddings (a model trained with them has them already), without transformers' note on
    how the new rows are initialised reaching the user's terminal."""
    added = tokenizer.add_tokens(list(markers), special_tokens=True)
    if added or len(tokenizer) > model.get_input_embeddings().num_embeddings:
        with quiet_transformers():
            model.resize_token_embeddings(len(tokenizer))


def read_annotator_json(model_dir: str | Path) -> dict[str, Any] | None:
    path = Path(model_dir) / ANNOTATOR_JSON
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object")
    return data


def spec_from_info(info: dict[str, Any], where: str | Path) -> TaskSpec:
    try:
        return TaskSpec(
            task=TaskKind(info["task"]),
            labels=tuple(info["labels"]),
            multi_label=bool(info.get("multi_label", False)),
            allow_no_answer=bool(info.get("allow_no_answer", False)),
            sentence_context=info.get("sentence_context"),
            overlapping=bool(info.get("overlapping", False)),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"{where}: {ANNOTATOR_JSON} lacks a valid task or labels ({exc})") from exc


def _config_kwargs(spec: TaskSpec) -> dict[str, Any]:
    return kind_of(spec.task).config_kwargs(spec)


def build_model(
    spec: TaskSpec, base_model: str | None, warn: Callable[[str], None]
) -> tuple[Any, Any, str]:
    """(model, tokenizer, base directory) for training ``spec`` from ``base_model``.

    A previous model version of the same task is a warm start: if its labels differ, the
    output head is re-initialised (and ``warn`` says so).
    """
    import transformers

    base_dir = resolve_base_model(base_model)
    previous = None
    with contextlib.suppress(ModelError):
        previous = read_annotator_json(base_dir)
    same_head = False
    if previous is not None:
        try:
            prev_spec = spec_from_info(previous, base_dir)
            same_head = (
                prev_spec.task is spec.task and prev_spec.labels == spec.labels
                and prev_spec.multi_label == spec.multi_label
                and prev_spec.overlapping == spec.overlapping
            )
            if prev_spec.task is spec.task and not same_head and kind_of(spec.task).label_head:
                change = (
                    f"the label set changed since the previous model version "
                    f"({list(prev_spec.labels)} → {list(spec.labels)})"
                    if prev_spec.labels != spec.labels else
                    "the previous model version "
                    + ("tags one entity per word (BIO)" if spec.overlapping
                       else "is a per-label tagger of overlapping entities")
                )
                warn(f"{change}: its encoder is reused, the output layer starts afresh")
        except ModelError:
            same_head = False
    try:
        with quiet_transformers():
            tokenizer = transformers.AutoTokenizer.from_pretrained(base_dir)
            model = auto_model_class(spec.task).from_pretrained(
                base_dir, use_safetensors=True, ignore_mismatched_sizes=True,
                **_config_kwargs(spec),
            )
    except Exception as exc:
        raise TrainingError(f"could not load base model {base_dir}: {exc}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise TrainingError(
            f"base model {base_dir} has no fast tokenizer (tokenizer.json): character "
            "offsets need one"
        )
    if previous is not None and not same_head and kind_of(spec.task).label_head:
        _reset_head(model)
    return model, tokenizer, base_dir


def _reset_head(model: Any) -> None:
    """Re-initialise the task head (same shape, other meaning: stale weights would mislead)."""
    for name in ("classifier", "qa_outputs"):
        head = getattr(model, name, None)
        if head is not None:
            for module in head.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
                    init = getattr(model.config, "initializer_range", 0.02)
                    if getattr(module, "weight", None) is not None and module.weight.dim() == 2:
                        module.weight.data.normal_(0.0, init)
                    if getattr(module, "bias", None) is not None:
                        module.bias.data.zero_()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model_dir(
    model: Any,
    tokenizer: Any,
    spec: TaskSpec,
    out_dir: str | Path,
    *,
    settings: dict[str, Any],
    metrics: dict[str, Any],
    base_model: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory atomically: a temp directory beside ``out_dir``, then
    ``os.replace``. ``out_dir`` must not exist yet (or be empty)."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and any(out.iterdir()):
        raise TrainingError(f"model directory {out} already exists; choose a new one")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        model = getattr(model, "module", model)  # unwrap DDP
        with quiet_transformers():
            model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        for stray in ("pytorch_model.bin", "training_args.bin"):
            (tmp / stray).unlink(missing_ok=True)
        weights = tmp / WEIGHTS
        if not weights.is_file():
            raise TrainingError(f"saving produced no {WEIGHTS} (sharded or other format)")
        onnx_entry: dict[str, Any] = {}
        if kind_of(spec.task).onnx_predicts:  # predicting without torch: core.engine.onnx_model
            from core.engine.onnx_export import export_onnx

            onnx_entry = {"onnx": export_onnx(model, tokenizer, tmp, weights)}
        info = {
            "format_version": FORMAT_VERSION,
            "task": spec.task.value,
            "labels": list(spec.labels),
            "multi_label": spec.multi_label,
            "allow_no_answer": spec.allow_no_answer,
            "sentence_context": spec.sentence_context,
            "overlapping": spec.overlapping,
            "id2label": {str(k): v for k, v in model.config.id2label.items()}
            if kind_of(spec.task).label_head else {},
            "settings": settings,
            "metrics": metrics,
            "base_model": base_model,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "weights_sha256": sha256_file(weights),
            **onnx_entry,
            **(extra or {}),
        }
        (tmp / ANNOTATOR_JSON).write_text(json.dumps(info, indent=2, default=str), "utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


@dataclass
class LoadedModel:
    """A loaded model version: the torch model (eval mode), tokenizer, spec and info."""

    model: Any
    tokenizer: Any
    spec: TaskSpec
    info: dict[str, Any]
    path: Path


def check_model_dir(path: Path) -> tuple[dict[str, Any], TaskSpec]:
    """The ``annotator.json`` and task spec of model directory ``path``, after checking
    what loading needs whichever runtime computes: safetensors weights matching their
    recorded checksum, and a tokenizer. Raises :class:`ModelError` saying what is wrong."""
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist")
    weights = path / WEIGHTS
    if not weights.is_file():
        raise ModelError(
            f"{path} has no {WEIGHTS}: only safetensors weights are loaded (never pickle "
            "files); retrain or re-export the model"
        )
    info = read_annotator_json(path)
    if info is None:
        raise ModelError(f"{path} has no {ANNOTATOR_JSON}: it was not written by this tool")
    spec = spec_from_info(info, path)
    expected = info.get("weights_sha256")
    if not expected:
        raise ModelError(
            f"{path / ANNOTATOR_JSON} records no checksum of the weights, so they cannot be "
            "verified; retrain the model with this tool"
        )
    if sha256_file(weights) != expected:
        raise ModelError(
            f"{weights} does not match the checksum recorded when it was saved: the file "
            "is truncated or was altered. Retrain, or restore it from a backup"
        )
    if not (path / "tokenizer.json").is_file():
        # Without it transformers would quietly build an empty tokenizer from config.json.
        raise ModelError(f"{path}: the tokenizer is missing (no tokenizer.json)")
    return info, spec


def load_model(model_dir: str | Path, device: Any = None) -> LoadedModel:
    """Load a model directory written by :func:`save_model_dir`.

    Refuses any directory without ``model.safetensors`` (never unpickles), checks the
    weights' SHA-256 and the label map against ``annotator.json``; every failure is a
    :class:`ModelError` that says what is wrong.
    """
    path = Path(model_dir)
    info, spec = check_model_dir(path)
    import transformers

    try:
        with quiet_transformers():
            tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    except Exception as exc:
        raise ModelError(f"{path}: the tokenizer cannot be loaded ({exc})") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"{path}: no fast tokenizer (tokenizer.json is missing)")
    try:
        with quiet_transformers():
            model = auto_model_class(spec.task).from_pretrained(path, use_safetensors=True)
    except Exception as exc:
        raise ModelError(f"{path}: the weights cannot be loaded ({exc})") from exc
    if len(tokenizer) > model.config.vocab_size:
        raise ModelError(
            f"{path}: the tokenizer ({len(tokenizer)} tokens) does not belong to the model "
            f"(vocabulary of {model.config.vocab_size})"
        )
    if kind_of(spec.task).label_head:
        names = list(kind_of(spec.task).model_label_names(spec))
        id2label = [model.config.id2label.get(i) for i in range(model.config.num_labels)]
        if id2label != names:
            raise ModelError(
                f"{path}: the model's labels {id2label} do not match {ANNOTATOR_JSON} "
                f"({names}); the directory is inconsistent"
            )
    model.eval()
    if device is not None:
        model.to(device)
    return LoadedModel(model, tokenizer, spec, info, path)


def new_model_dir_name(task: TaskKind) -> str:
    """A fresh, sortable directory name for a model version."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{task.value}-{stamp}-{uuid.uuid4().hex[:6]}"
