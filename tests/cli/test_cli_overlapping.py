"""``annotator init --overlapping``: a project whose entities may overlap and nest, imported
from JSONL and brat, exported to JSONL, and refused (clearly, nothing written) by CoNLL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run

TEXT = "Chest X-ray: left lower lobe pneumonia. No pleural effusion."


def at(phrase: str) -> list[int]:
    start = TEXT.index(phrase)
    return [start, start + len(phrase)]


NESTED = [[*at("left lower lobe pneumonia"), "Condition"], [*at("left lower lobe"), "BodySite"]]


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "notes.jsonl"
    path.write_text(json.dumps({"id": "n1", "text": TEXT, "label": NESTED}) + "\n"
                    + json.dumps({"id": "n2", "text": "No acute findings.", "label": []}) + "\n",
                    encoding="utf-8")
    return path


def _init(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    db = str(tmp_path / "p.db")
    code, _, err = cli("init", db, "--task", "ner", "--labels", "Condition,BodySite",
                       "--json", *extra, capsys=capsys)
    assert code == 0, err
    return db


def test_init_overlapping_says_so_and_is_for_entities(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "p.db")
    code, out, err = cli("init", db, "--task", "ner", "--labels", "Condition,BodySite",
                         "--overlapping", "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["overlapping"] is True
    code, out, _ = cli("init", db, "--task", "ner", "--labels", "Condition", capsys=capsys)
    assert code == 0 and "entities may overlap and nest" in out  # stays on
    other = str(tmp_path / "flat.db")
    code, out, _ = cli("init", other, "--task", "ner", "--labels", "A", "--json", capsys=capsys)
    assert json.loads(out)["overlapping"] is False
    code, _, err = cli("init", str(tmp_path / "c.db"), "--task", "classify", "--labels", "a,b",
                       "--overlapping", capsys=capsys)
    assert code == 2 and "--overlapping" in err and "ner" in err
    assert not (tmp_path / "c.db").exists()


def test_nested_entities_import_and_export_to_jsonl_but_not_conll(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _init(tmp_path, capsys, "--overlapping")
    code, out, err = cli("import", db, str(_jsonl(tmp_path)), "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["annotations_added"] == 2
    conll = tmp_path / "out.conll"
    code, out, err = cli("export", db, str(conll), "--format", "conll", capsys=capsys)
    assert code != 0 and not conll.exists()
    for part in ("cannot represent overlapping or nested", "1 of the 2 documents",
                 "(id n1)", "'left lower lobe'", "--format jsonl", "brat"):
        assert part in err
    jsonl = tmp_path / "out.jsonl"
    code, out, err = cli("export", db, str(jsonl), "--format", "jsonl", capsys=capsys)
    assert code == 0, err
    exported = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])
    spans = exported.get("label") or [[s["start"], s["end"], s["label"]]
                                      for s in exported["spans"]]
    assert sorted(map(list, spans)) == sorted(NESTED)


def test_a_project_without_overlaps_refuses_the_file_and_imports_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _init(tmp_path, capsys)
    code, _, err = cli("import", db, str(_jsonl(tmp_path)), capsys=capsys)
    assert code != 0 and "notes.jsonl:1:" in err and "overlap" in err and "--overlapping" in err
    code, out, _ = cli("stats", db, "--json", capsys=capsys)
    assert json.loads(out)["documents"] == 0


def test_brat_nested_entities_need_an_overlapping_project(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "brat"
    folder.mkdir()
    (folder / "n1.txt").write_text(TEXT, encoding="utf-8")
    (folder / "n1.ann").write_text(
        "".join(f"T{i}\t{label} {s} {e}\t{TEXT[s:e]}\n"
                for i, (s, e, label) in enumerate(NESTED, start=1)), encoding="utf-8")
    flat = _init(tmp_path, capsys)
    code, _, err = cli("import", flat, str(folder), "--format", "brat", capsys=capsys)
    assert code != 0 and "n1.ann:2:" in err and "overlaps T1" in err
    nested = str(tmp_path / "nested.db")
    assert cli("init", nested, "--task", "ner", "--labels", "Condition,BodySite",
               "--overlapping", capsys=capsys)[0] == 0
    code, out, err = cli("import", nested, str(folder), "--format", "brat", "--json",
                         capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["annotations_added"] == 2


def test_no_overlapping_switches_it_off_refused_while_entities_overlap(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _init(tmp_path, capsys, "--overlapping")
    assert cli("import", db, str(_jsonl(tmp_path)), capsys=capsys)[0] == 0
    code, _, err = cli("init", db, "--task", "ner", "--labels", "Condition,Finding",
                       "--no-overlapping", capsys=capsys)
    assert code == 2 and "overlap" in err and "'left lower lobe'" in err
    code, out, _ = cli("init", db, "--task", "ner", "--json", capsys=capsys)
    state = json.loads(out)
    assert state["overlapping"] is True and "Finding" not in state["labels"]  # nothing done
    # without the nested BodySite, it switches off
    flat = tmp_path / "flat.jsonl"
    flat.write_text(json.dumps({"id": "n1", "text": TEXT, "label": NESTED[:1]}) + "\n",
                    encoding="utf-8")
    (tmp_path / "o").mkdir()
    other = _init(tmp_path / "o", capsys, "--overlapping")
    assert cli("import", other, str(flat), capsys=capsys)[0] == 0
    code, out, err = cli("init", other, "--task", "ner", "--no-overlapping", "--json",
                         capsys=capsys)
    assert code == 0, err
    assert json.loads(out)["overlapping"] is False
    code, _, err = cli("import", other, str(_jsonl(tmp_path)), capsys=capsys)
    assert code != 0 and "--overlapping" in err  # nested spans are refused again
