"""Model files: only safetensors are read, nothing is ever unpickled, and every damaged,
tampered, mismatched or incomplete model directory gives a clear ``ModelError``."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.errors import ModelError

from .reliability_lib import REPO, Tally

TALLY = Tally("model-files")


@pytest.fixture(scope="module", autouse=True)
def _summary() -> Iterator[None]:
    yield
    TALLY.emit()


# --- nothing is ever unpickled: a source check ----------------------------------------------

UNSAFE = re.compile(
    r"torch\.load\(|pickle\.loads?\(|use_safetensors\s*=\s*False|torch\.jit\.load\(|"
    r"joblib\.load\(|allow_pickle\s*=\s*True|dill\.loads?\(|cloudpickle\.loads?\(|"
    r"weights_only\s*=\s*False|marshal\.loads?\("
)


def _source_files() -> list[Path]:
    files = []
    for folder in ("core", "annotator", "benchmarks"):
        files += sorted((REPO / folder).rglob("*.py"))
    return files


def test_no_unpickling_anywhere_in_the_source() -> None:
    files = _source_files()
    offenders = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if UNSAFE.search(code):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    TALLY.add("source files scanned for torch.load/pickle/use_safetensors=False", len(files))
    assert not offenders, "unsafe deserialisation outside tests:\n" + "\n".join(offenders)


def test_the_source_check_has_teeth(tmp_path: Path) -> None:
    for bad in ("m = torch.load(path)", "x = pickle.load(fh)", "f(use_safetensors=False)",
                "torch.load(p, weights_only=False)"):
        assert UNSAFE.search(bad), bad
    assert not UNSAFE.search("load_file(path)  # safetensors")


# --- damaged model directories -------------------------------------------------------------

from core.engine import modelio


def _copy(src: Path, tmp_path: Path, name: str = "m") -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def _truncate_weights(d: Path) -> None:
    w = d / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])


def _flip_weight_byte(d: Path) -> None:
    w = d / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF  # inside the tensor data: still valid safetensors, other numbers
    w.write_bytes(bytes(data))


def _empty_weights(d: Path) -> None:
    (d / "model.safetensors").write_bytes(b"")


def _no_weights(d: Path) -> None:
    (d / "model.safetensors").unlink()


def _pickle_instead_of_weights(d: Path) -> None:
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))


def _pickle_named_safetensors(d: Path) -> None:
    (d / "model.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))


def _label_map_mismatch(d: Path) -> None:
    cfg = json.loads((d / "config.json").read_text())
    cfg["id2label"] = {str(i): f"X{i}" for i in range(len(cfg["id2label"]))}
    cfg["label2id"] = {v: int(k) for k, v in cfg["id2label"].items()}
    (d / "config.json").write_text(json.dumps(cfg))


def _labels_renamed_in_annotator_json(d: Path) -> None:
    info = json.loads((d / "annotator.json").read_text())
    info["labels"] = ["Drug", "Disease"]  # swapped: the head's rows mean other things
    (d / "annotator.json").write_text(json.dumps(info))


def _label_added_in_annotator_json(d: Path) -> None:
    info = json.loads((d / "annotator.json").read_text())
    info["labels"] = [*info["labels"], "Symptom"]
    (d / "annotator.json").write_text(json.dumps(info))


def _no_tokenizer(d: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (d / name).unlink(missing_ok=True)


def _broken_tokenizer(d: Path) -> None:
    (d / "tokenizer.json").write_text("{ not json")


def _no_annotator_json(d: Path) -> None:
    (d / "annotator.json").unlink()


def _broken_annotator_json(d: Path) -> None:
    (d / "annotator.json").write_text('{"task": "ner", "labels": ')


def _bad_task_in_annotator_json(d: Path) -> None:
    info = json.loads((d / "annotator.json").read_text())
    info["task"] = "translate"
    (d / "annotator.json").write_text(json.dumps(info))


def _no_config(d: Path) -> None:
    (d / "config.json").unlink()


def _partial_dir(d: Path) -> None:
    """What a kill during save leaves: the temp dir with some of the files."""
    for name in ("annotator.json", "tokenizer.json", "tokenizer_config.json"):
        (d / name).unlink(missing_ok=True)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated-weights": _truncate_weights,
    "tampered-weights": _flip_weight_byte,
    "empty-weights": _empty_weights,
    "no-weights": _no_weights,
    "pickle-instead-of-safetensors": _pickle_instead_of_weights,
    "pickle-named-safetensors": _pickle_named_safetensors,
    "label-map-mismatch-config": _label_map_mismatch,
    "labels-swapped-annotator-json": _labels_renamed_in_annotator_json,
    "label-added-annotator-json": _label_added_in_annotator_json,
    "no-tokenizer": _no_tokenizer,
    "broken-tokenizer": _broken_tokenizer,
    "no-annotator-json": _no_annotator_json,
    "broken-annotator-json": _broken_annotator_json,
    "unknown-task": _bad_task_in_annotator_json,
    "no-config": _no_config,
    "partial-save": _partial_dir,
}


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every unpickling entry point fail loudly while the loader runs."""
    import torch

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("the loader tried to unpickle")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)


def test_intact_model_loads(tiny_ner: Path, no_unpickling: None) -> None:
    loaded = modelio.load_model(tiny_ner)
    assert loaded.spec.labels == ("Disease", "Drug")


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_model_dir_gives_model_error(
    damage: str, tiny_ner: Path, tmp_path: Path, no_unpickling: None
) -> None:
    d = _copy(tiny_ner, tmp_path)
    DAMAGE[damage](d)
    with pytest.raises(ModelError) as info:
        modelio.load_model(d)
    message = str(info.value)
    assert str(d) in message, message
    assert "Traceback" not in message
    TALLY.add("damaged model directories refused with ModelError")


def test_missing_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        modelio.load_model(tmp_path / "nope")


def test_missing_checksum_is_refused(tiny_ner: Path, tmp_path: Path) -> None:
    d = _copy(tiny_ner, tmp_path)
    info = json.loads((d / "annotator.json").read_text())
    del info["weights_sha256"]
    (d / "annotator.json").write_text(json.dumps(info))
    _flip_weight_byte(d)
    with pytest.raises(ModelError):
        modelio.load_model(d)


def test_predictor_refuses_damaged_dir(tiny_ner: Path, tmp_path: Path) -> None:
    from core.engine import predict
    d = _copy(tiny_ner, tmp_path)
    _truncate_weights(d)
    with pytest.raises(ModelError):
        predict.Predictor(d, device="cpu")


def test_save_leaves_no_partial_dir_on_failure(tiny_ner: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that fails half-way (disk full, simulated) leaves neither the target nor a
    temp directory behind."""
    loaded = modelio.load_model(tiny_ner)
    real = loaded.tokenizer.save_pretrained

    def disk_full(*a: object, **k: object) -> None:
        real(*a, **k)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(loaded.tokenizer, "save_pretrained", disk_full)
    out = tmp_path / "models" / "v1"
    with pytest.raises(OSError):
        modelio.save_model_dir(loaded.model, loaded.tokenizer, loaded.spec, out,
                               settings={}, metrics={}, base_model="tiny")
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []
    TALLY.add("failed saves leaving nothing behind")
