"""Entity predictions through OpenVINO: the ONNX graph written when a version is saved, its
weights read from the version's own safetensors file, predictions equal to torch's in fp32,
bf16 where torch's "auto" would take it, computed in a process that never imports torch or
transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_training import fast, run_job
from tiny_models import DRUGS, FILLER, build_tiny_roberta, make_ner_docs

from core.engine import onnx_export
from core.engine import predict as P
from core.engine.modelio import read_annotator_json
from core.engine.onnx_model import ONNX_FILE, onnx_applies
from core.errors import ModelError
from core.types import DocumentRecord

ROOT = Path(__file__).resolve().parents[3]


def _train(base: Path, out: Path, **kw: Any) -> Path:
    result, _ = run_job(out, task="ner", labels=kw.pop("labels", ["DRUG"]),
                        train=kw.pop("train", make_ner_docs(60)),
                        settings=fast(base, epochs=4), **kw)
    assert result.status == "completed", result.reason
    return Path(result.model_path)


@pytest.fixture(scope="module")
def model_dir(tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tiny_bert, tmp_path_factory.mktemp("onnx"))


def _documents() -> list[DocumentRecord]:
    """Short sentences, one far past the 32-token window (several windows), an empty one."""
    docs = [DocumentRecord(d.text) for d in make_ner_docs(12, seed=5)]
    words = [FILLER[i % len(FILLER)] if i % 7 else DRUGS[i % len(DRUGS)] for i in range(120)]
    return [*docs, DocumentRecord(" ".join(words)), DocumentRecord("")]


def _same_predictions(a: list[Any], b: list[Any]) -> None:
    for x, y in zip(a, b, strict=True):
        assert [(s.start, s.end, s.label) for s in x.spans] == \
            [(s.start, s.end, s.label) for s in y.spans]
        assert all(abs(s.confidence - t.confidence) < 1e-4 for s, t in zip(x.spans, y.spans))
        assert np.abs(x.word_probs - y.word_probs).max(initial=0.0) < 1e-4


def test_a_saved_entity_model_has_a_graph_over_its_own_weights(model_dir: Path) -> None:
    info = read_annotator_json(model_dir)
    assert info is not None
    graph = info["onnx"]
    assert graph["file"] == ONNX_FILE and graph["max_difference"] <= onnx_export.TOLERANCE
    import onnx

    # The weights are not copied: every initializer is read from the safetensors file.
    proto = onnx.load(str(model_dir / ONNX_FILE), load_external_data=False)
    assert len(proto.graph.initializer) > 20
    assert not any(init.raw_data or init.float_data for init in proto.graph.initializer)
    locations = {next(e.value for e in init.external_data if e.key == "location")
                 for init in proto.graph.initializer}
    assert locations == {"model.safetensors"}


def test_onnx_predicts_what_torch_predicts_in_fp32(model_dir: Path) -> None:
    docs = _documents()
    onnx_side = P.Predictor(model_dir, backend="onnx", precision="fp32")
    torch_side = P.Predictor(model_dir, backend="torch", device="cpu", precision="fp32")
    assert onnx_side.backend == "openvino" and onnx_side.precision == "fp32"
    assert torch_side.backend == "torch"
    a, b = onnx_side.predict(docs, batch_size=4), torch_side.predict(docs, batch_size=4)
    assert sum(len(p.spans) for p in a) >= 10  # the model found the drugs: a real comparison
    _same_predictions(a, b)


def test_a_tokenizer_with_another_layout_predicts_alike(tmp_path: Path) -> None:
    """RoBERTa's ``<s> … </s>`` and its padding id 1 come from tokenizer.json alone."""
    base = build_tiny_roberta(tmp_path / "roberta")
    model_dir = _train(base, tmp_path / "run")
    assert "sha256" in read_annotator_json(model_dir)["onnx"]  # type: ignore[index]
    docs = _documents()
    _same_predictions(P.Predictor(model_dir, backend="onnx", precision="fp32").predict(
                          docs, batch_size=3),
                      P.Predictor(model_dir, backend="torch", precision="fp32").predict(
                          docs, batch_size=3))


def test_the_per_label_tagger_of_overlapping_entities_predicts_alike(
        tiny_bert: Path, tmp_path: Path) -> None:
    from core.types import EntitySpan

    docs = []
    for d in make_ner_docs(60, seed=2):  # every drug also inside a longer DOSE span
        (span,) = d.spans
        end = min(len(d.text), span.end + 6)
        docs.append(DocumentRecord(d.text, spans=[span, EntitySpan(span.start, end, "DOSE")]))
    model_dir = _train(tiny_bert, tmp_path, labels=["DRUG", "DOSE"], train=docs,
                       overlapping=True)
    _same_predictions(P.Predictor(model_dir, backend="onnx", precision="fp32").predict(
                          _documents()),
                      P.Predictor(model_dir, backend="torch", precision="fp32").predict(
                          _documents()))


def test_auto_takes_onnx_only_where_it_saves_loading_torch(model_dir: Path) -> None:
    info = read_annotator_json(model_dir)
    assert info is not None
    assert "torch" in sys.modules  # this process trained: torch's import is paid for
    assert not onnx_applies(info, precision="auto", device="auto")
    assert P.Predictor(model_dir).backend == "torch"
    # The rest of the rule, as a process without torch would see it.
    saved = sys.modules.pop("torch")
    try:
        assert onnx_applies(info, precision="auto", device="cpu")
        assert onnx_applies(info, precision="fp32", device="cpu")
        assert not onnx_applies(info, precision="bf16", device="cpu")
        assert not onnx_applies(info, precision="auto", device="cuda")
        assert not onnx_applies({**info, "onnx": {"error": "x"}}, precision="auto", device="cpu")
    finally:
        sys.modules["torch"] = saved


def _project(path: Path, version_dir: Path) -> Path:
    """A project at ``path`` of the test documents, unlabelled, with ``version_dir`` as its
    entity model version 1."""
    from core import models
    from core.project import Project

    project = Project.create(path, tasks={"ner": ["DRUG"]})
    project.documents.add([DocumentRecord(d.text) for d in _documents()])
    models.register(project, "ner", path=version_dir, base_model="tiny")
    project.close()
    return path


def test_the_command_line_predicts_without_importing_torch(model_dir: Path,
                                                          tmp_path: Path) -> None:
    """``annotator predict`` in a process of its own: OpenVINO, no torch, no
    transformers, and the suggestions torch stores in fp32."""
    paths = {backend: _project(tmp_path / f"{backend}.db", model_dir)
             for backend in ("auto", "torch")}
    probe = (
        "import json, sys; from annotator.cli import main; sys.argv[0] = 'annotator'; "
        "code = main(); "
        "print(json.dumps({'torch': 'torch' in sys.modules, "
        "'transformers': 'transformers' in sys.modules, "
        "'telemetry': sys.modules.get('openvino_telemetry') is not None}), file=sys.stderr); "
        "raise SystemExit(code)"
    )
    # A home of its own, and not marked as CI (where OpenVINO's telemetry is off anyway).
    home = tmp_path / "home"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")},
           "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HOME": str(home)}
    out = {}
    for backend, path in paths.items():
        done = subprocess.run(
            [sys.executable, "-c", probe, "predict", str(path), "--task", "ner", "--json",
             "--precision", "fp32", "--backend", backend],
            capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=300, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        out[backend] = (json.loads(done.stdout), json.loads(done.stderr.strip().splitlines()[-1]))
    assert out["auto"][0]["backend"] == "openvino" and out["auto"][0]["precision"] == "fp32"
    # Neither torch nor transformers, nor OpenVINO's usage telemetry: its package was not
    # loaded, and nothing was written under ~/intel (its client id and statistics).
    assert out["auto"][1] == {"torch": False, "transformers": False, "telemetry": False}
    assert not (home / "intel").exists()
    assert out["torch"][0]["backend"] == "torch" and out["torch"][1]["torch"]
    assert out["auto"][0]["suggestions"] == out["torch"][0]["suggestions"] > 0

    def stored(path: Path) -> list[tuple[Any, ...]]:
        import sqlite3

        with sqlite3.connect(path) as c:
            rows = c.execute("SELECT document_id, payload, confidence FROM suggestions "
                             "ORDER BY document_id, payload").fetchall()
            scores = c.execute("SELECT document_id, strategy, score FROM document_scores "
                               "ORDER BY document_id, strategy").fetchall()
        return [(*r[:2], round(r[2], 4)) for r in rows] + [(*r[:2], round(r[2], 4))
                                                          for r in scores]

    assert stored(paths["auto"]) == stored(paths["torch"])


def _without_graph(model_dir: Path, to: Path) -> Path:
    """A copy of ``model_dir`` as a release before graphs were written saved it."""
    import shutil

    shutil.copytree(model_dir, to)
    (to / ONNX_FILE).unlink()
    info_path = to / "annotator.json"
    info = json.loads(info_path.read_text("utf-8"))
    del info["onnx"]
    info_path.write_text(json.dumps(info), "utf-8")
    return to


def test_the_command_line_adds_a_graph_to_a_version_saved_without_one(
        model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A version saved before graphs were written predicts with torch; the command says so
    (on stderr) and adds the graph, checked as at save, which predicts as torch does. One
    with its graph says nothing, here where torch predicts too."""
    from annotator.cli.main import run

    old = _without_graph(model_dir, tmp_path / "old")
    before = {f.name for f in old.iterdir()}
    notes = {}
    for name, version_dir in (("old", old), ("new", model_dir)):
        db = _project(tmp_path / f"{name}.db", version_dir)
        assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
        captured = capsys.readouterr()
        assert json.loads(captured.out)["backend"] == "torch"  # this process has torch
        notes[name] = captured.err
    assert "note: model version 1 predicted with torch" in notes["old"]
    assert "saved without an ONNX graph" in notes["old"]
    assert "Its graph was added now (checked by OpenVINO" in notes["old"]
    assert notes["new"] == ""
    # The graph and its record, and nothing else: no temporary file left.
    assert {f.name for f in old.iterdir()} == before | {ONNX_FILE}
    info = read_annotator_json(old)
    assert info is not None and info["onnx"]["max_difference"] <= onnx_export.TOLERANCE
    assert "added" in info["onnx"] and info["weights_sha256"] == \
        read_annotator_json(model_dir)["weights_sha256"]
    docs = _documents()
    _same_predictions(P.Predictor(old, backend="onnx", precision="fp32").predict(docs),
                      P.Predictor(old, backend="torch", device="cpu",
                                  precision="fp32").predict(docs))
    with pytest.raises(ModelError, match="has a graph record already"):
        onnx_export.add_graph(old)


def test_a_graph_that_fails_its_check_when_added_is_recorded_and_not_tried_again(
        model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from annotator.cli.main import run
    from core.project import Project

    old = _without_graph(model_dir, tmp_path / "old")
    before = {f.name for f in old.iterdir()}
    db = _project(tmp_path / "p.db", old)
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # no difference is small enough
    assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
    err = capsys.readouterr().err
    assert "Its graph was made now but failed the check (ValueError: OpenVINO and torch " \
        "differ by" in err
    assert {f.name for f in old.iterdir()} == before  # no graph kept, nothing left over
    info = read_annotator_json(old)
    assert info is not None and set(info["onnx"]) == {"error", "added"}
    # The next run says why, and does not try again.
    with Project.open(db) as p:
        p.documents.add([DocumentRecord("metformin again")])
    assert run(["predict", str(db), "--task", "ner", "--json"]) == 0
    err = capsys.readouterr().err
    assert "its ONNX graph failed the check (ValueError" in err
    assert "A model trained now gets a graph." in err


def test_a_graph_that_cannot_be_written_leaves_the_version_as_it_was(
        model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _without_graph(model_dir, tmp_path / "old")
    files = {f.name: f.read_bytes() for f in old.iterdir()}
    real_replace = os.replace

    def full_disk(src: Any, dst: Any) -> None:
        if Path(dst).name == "annotator.json":
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        onnx_export.add_graph(old)
    assert {f.name: f.read_bytes() for f in old.iterdir()} == files


def test_an_altered_graph_is_refused_and_torch_still_predicts(model_dir: Path,
                                                              tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_dir, copy)
    graph = copy / ONNX_FILE
    graph.write_bytes(graph.read_bytes()[:-10])
    with pytest.raises(ModelError, match=r"model\.onnx does not match the checksum"):
        P.Predictor(copy, backend="onnx")
    assert P.Predictor(copy, backend="torch").predict(_documents()[:2])


def test_a_failed_export_is_recorded_and_the_model_saved_without_it(
        tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # no difference is small enough
    model_dir = _train(tiny_bert, tmp_path)
    info = read_annotator_json(model_dir)
    assert info is not None
    assert set(info["onnx"]) == {"error"} and "differ by" in info["onnx"]["error"]
    assert not (model_dir / ONNX_FILE).exists()
    assert P.Predictor(model_dir).backend == "torch"
    with pytest.raises(ModelError, match=r"no ONNX graph \(ValueError: OpenVINO and torch"):
        P.Predictor(model_dir, backend="onnx")


def test_auto_precision_is_bf16_exactly_where_torch_would_take_it(model_dir: Path) -> None:
    """OpenVINO's own choice at "auto" is the engine's rule for torch (bf16 where the CPU
    multiplies bf16 natively), and there it really computes in bf16, close to fp32."""
    from core.engine.runtime import cpu_has_native_bf16

    auto = P.Predictor(model_dir, backend="onnx")
    exact = P.Predictor(model_dir, backend="onnx", precision="fp32")
    assert auto.precision == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert exact.precision == "fp32"
    a, b = auto.predict(_documents()), exact.predict(_documents())
    largest = max(float(np.abs(x.word_probs - y.word_probs).max(initial=0.0))
                  for x, y in zip(a, b, strict=True))
    if auto.precision == "bf16":
        assert 0.0 < largest < 0.1  # rounded to bf16's 8 bits of mantissa, not another model
    else:
        assert largest == 0.0
    assert sum(len(x.spans) for x in a) >= 10


def test_an_unknown_backend_is_refused(model_dir: Path) -> None:
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnx"):
        P.Predictor(model_dir, backend="tensorrt")
