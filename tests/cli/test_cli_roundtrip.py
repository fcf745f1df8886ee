"""Import each shared corpus into a project and export it in its own format: the same
tokens and tags / labels / questions and answers come back (the store keeps one copy of a
repeated text, so the expected output is the corpus with repeats dropped, in first-seen order)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.main import run


def _sentences(path: Path) -> list[tuple[tuple[str, str], ...]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(tuple(current))
            current = []
            continue
        *token, tag = line.split("\t")
        current.append(("\t".join(token).strip(), tag.strip()))
    if current:
        sentences.append(tuple(current))
    return sentences


def _first_seen(items: list) -> list:  # type: ignore[type-arg]
    return list(dict.fromkeys(items))


def _cli(*args: str) -> None:
    assert run(list(args)) == 0


@pytest.mark.parametrize(
    "corpus", ["ner/ncbi-disease/devel.tsv", "ner/wnut17/dev.conll", "ner/wnut17/train.conll"]
)
def test_conll_corpus_round_trip(corpus: str, shared_data: Path, tmp_path: Path) -> None:
    db, out = str(tmp_path / "p.db"), tmp_path / "out.conll"
    _cli("init", db, "--task", "ner")
    _cli("import", db, str(shared_data / corpus))
    _cli("export", db, str(out), "--format", "conll")
    original = _sentences(shared_data / corpus)
    exported = _sentences(out)
    key = lambda sent: " ".join(t for t, _ in sent)  # noqa: E731
    # Same texts, in first-seen order...
    assert [key(s) for s in exported] == _first_seen([key(s) for s in original])
    # ...and every text that occurs once comes back with exactly its tokens and tags.
    counts: dict[str, int] = {}
    for sent in original:
        counts[key(sent)] = counts.get(key(sent), 0) + 1
    unique = [s for s in original if counts[key(s)] == 1]
    assert [s for s in exported if counts[key(s)] == 1] == unique
    assert len(unique) > 0.9 * len(original)


@pytest.mark.parametrize("corpus", ["classify/sst2/dev.txt", "classify/trec/test.txt"])
def test_label_lines_round_trip(corpus: str, shared_data: Path, tmp_path: Path) -> None:
    db, out = str(tmp_path / "p.db"), tmp_path / "out.txt"
    _cli("init", db, "--task", "classify")
    _cli("import", db, str(shared_data / corpus), "--format", "lines")
    _cli("export", db, str(out), "--format", "lines")
    original = (shared_data / corpus).read_text(encoding="utf-8").splitlines()
    by_text = {}
    for line in original:
        by_text.setdefault(line.split(" ", 1)[1], line)
    assert out.read_text(encoding="utf-8").splitlines() == list(by_text.values())


def test_squad_round_trip(shared_data: Path, tmp_path: Path) -> None:
    db, out = str(tmp_path / "p.db"), tmp_path / "out.json"
    _cli("init", db, "--task", "qa")
    _cli("import", db, str(shared_data / "qa/xquad-en.json"))
    _cli("export", db, str(out), "--format", "squad")

    def qas(path: Path) -> list[tuple[str, str, str, tuple[tuple[int, str], ...]]]:
        data = json.loads(path.read_text(encoding="utf-8"))
        return sorted(
            (q["id"], p["context"], q["question"],
             tuple((a["answer_start"], a["text"]) for a in q["answers"]))
            for article in data["data"] for p in article["paragraphs"] for q in p["qas"]
        )

    assert qas(out) == qas(shared_data / "qa/xquad-en.json")


def test_malformed_file_exits_2_and_leaves_project_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "p.db")
    _cli("init", db, "--task", "ner")
    good = tmp_path / "good.conll"
    good.write_text("Flu\tB-Disease\nis\tO\n\nCold\tB-Disease\n", encoding="utf-8")
    _cli("import", db, str(good))
    capsys.readouterr()
    bad = tmp_path / "bad.conll"
    bad.write_text("Fever\tB-Disease\n\nnew\tO\nline\tQ-Disease\n", encoding="utf-8")
    assert run(["import", db, str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.conll:4" in err
    run(["stats", db, "--json"])
    stats = json.loads(capsys.readouterr().out)
    assert stats["documents"] == 2 and stats["entities"] == 2
