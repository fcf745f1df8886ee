"""``annotator import`` / ``export`` of brat standoff folders, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run

# Clinical-style sentences written for this test (no real notes).
DOCS = {
    "note-01": ("Denies chest pain. Takes metformin daily.\n",
                ("T1\tCondition 7 17\tchest pain\n"
                 "A1\tNegated T1\n"
                 "T2\tMedication 25 34\tmetformin\n")),
    "note-02": ("Hx of asthma, on salbutamol.\r\nNo fever now.\r\n",
                ("T1\tCondition 6 12\tasthma\n"
                 "T2\tMedication 17 27\tsalbutamol\n"
                 "T3\tCondition 32 37\tfever\n"
                 "A1\tnegation T3 Negated\n"
                 "#1\tAnnotatorNotes T1\tsince childhood\n")),
    "note-03": ("Patient seen for follow-up, nothing to mark.\n", ""),
}


def cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write_corpus(folder: Path, docs: dict[str, tuple[str, str]]) -> None:
    folder.mkdir()
    for stem, (text, ann) in docs.items():
        (folder / f"{stem}.txt").write_bytes(text.encode("utf-8"))
        (folder / f"{stem}.ann").write_bytes(ann.encode("utf-8"))


def entities(folder: Path, stem: str) -> list[tuple[str, int, int, str]]:
    """(label, start, end, text) of each T line, read from the files themselves."""
    text = (folder / f"{stem}.txt").read_bytes().decode("utf-8").replace("\r\n", "\n")
    found = []
    for line in (folder / f"{stem}.ann").read_text(encoding="utf-8").splitlines():
        if line.startswith("T"):
            _, body, quote = line.split("\t")
            label, start, end = body.split(" ")
            assert text[int(start):int(end)] == quote  # brat's count: a CRLF is one character
            found.append((label, int(start), int(end), quote))
    return found


def attribute_lines(folder: Path, stem: str) -> list[str]:
    lines = (folder / f"{stem}.ann").read_text(encoding="utf-8").splitlines()
    return [line.split("\t", 1)[1] for line in lines if line.startswith("A")]


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    db = str(tmp_path / "P.db")
    code, _, err = cli("init", db, "--task", "ner", "--labels", "Condition,Medication",
                       "--attribute", "negation=Affirmed,Negated@Condition", capsys=capsys)
    assert code == 0, err
    return db


def test_import_then_export_gives_the_same_entities(
    project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_corpus(corpus, DOCS)
    code, stdout, err = cli("import", project, str(corpus), "--json", capsys=capsys)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["documents"] == 3 and summary["documents_added"] == 3
    assert summary["annotations_added"] == 5
    assert (summary["discontinuous_joined"], summary["skipped"], summary["notes"]) == (0, {}, 1)

    code, stdout, err = cli("stats", project, "--json", capsys=capsys)
    stats = json.loads(stdout)
    assert stats["entity_labels"] == {"Condition": 3, "Medication": 2}

    code, stdout, err = cli("export", project, str(out), "--format", "brat", "--json",
                            capsys=capsys)
    assert code == 0, err
    assert json.loads(stdout) == {"out": str(out), "format": "brat", "documents": 3}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}{suffix}" for stem in DOCS for suffix in (".ann", ".txt"))
    for stem, (text, _) in DOCS.items():
        assert (out / f"{stem}.txt").read_bytes() == text.encode("utf-8")  # CRLF kept
        assert entities(out, stem) == entities(corpus, stem)
    assert entities(out, "note-01") == [("Condition", 7, 17, "chest pain"),
                                        ("Medication", 25, 34, "metformin")]
    # the binary attribute comes back in the multi-valued form; defaults are not written
    assert attribute_lines(out, "note-01") == ["negation T1 Negated"]
    assert attribute_lines(out, "note-02") == ["negation T3 Negated"]
    assert attribute_lines(out, "note-03") == []
    assert "#1\tAnnotatorNotes T1\tsince childhood" in (out / "note-02.ann").read_text(
        encoding="utf-8")

    # The exported folder imports into a new project as the same thing.
    other = str(tmp_path / "Q.db")
    cli("init", other, "--task", "ner", "--attribute", "negation=Affirmed,Negated",
        capsys=capsys)
    code, stdout, err = cli("import", other, str(out), "--json", capsys=capsys)
    assert code == 0, err
    assert json.loads(stdout)["annotations_added"] == 5
    again = tmp_path / "again"
    cli("export", other, str(again), "--format", "brat", capsys=capsys)
    for stem in DOCS:
        assert (again / f"{stem}.ann").read_text(encoding="utf-8") == (
            out / f"{stem}.ann").read_text(encoding="utf-8")


def test_a_bad_line_names_the_file_and_line_and_imports_nothing(
    project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, {**DOCS, "note-04": ("Rash on the left arm.\n",
                                              ("T1\tCondition 0 4\tRash\n"
                                               "A1\tnegation T1 Unsure\n"))})
    code, _, err = cli("import", project, str(corpus), capsys=capsys)
    assert code == 2
    assert f"{corpus / 'note-04.ann'}:2: A1 on T1 Condition: attribute 'negation' has no " \
           "value 'Unsure'" in err
    code, stdout, _ = cli("stats", project, "--json", capsys=capsys)
    assert json.loads(stdout)["documents"] == 0


def test_discontinuous_and_relations_are_refused_unless_asked(
    project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, {"n": ("Pain in the left and right knee.\n",
                                ("T1\tCondition 0 4\tPain\n"
                                 "T2\tCondition 12 16;27 31\tleft knee\n"
                                 "R1\tlocated Arg1:T1 Arg2:T2\n"))})
    code, _, err = cli("import", project, str(corpus), capsys=capsys)
    assert code == 2 and "n.ann:2: T2 Condition is discontinuous" in err
    assert "--discontinuous join" in err
    # the project declares no relation type: its R line is refused unless skipped
    code, _, err = cli("import", project, str(corpus), "--discontinuous", "join",
                       capsys=capsys)
    assert code == 2 and "n.ann:3: R1 located" in err and "declares no relation type" in err
    assert "--brat-skip relations" in err
    code, stdout, err = cli("import", project, str(corpus), "--brat-skip", "relations",
                            "--discontinuous", "join", capsys=capsys)
    assert code == 0, err
    assert "2 annotations" in stdout
    assert "1 discontinuous entity joined" in stdout
    assert "skipped (not stored): relations 1" in stdout
    code, stdout, _ = cli("export", project, str(tmp_path / "out"), "--format", "brat",
                          capsys=capsys)
    assert (tmp_path / "out" / "n.ann").read_text(encoding="utf-8") == (
        "T1\tCondition 0 4\tPain\nT2\tCondition 12 31\tleft and right knee\n")


def test_brat_options_are_for_brat_only(project: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"text": "Fever."}\n', encoding="utf-8")
    code, _, err = cli("import", project, str(notes), "--discontinuous", "join", capsys=capsys)
    assert code == 2 and "apply to the brat format, not jsonl" in err
