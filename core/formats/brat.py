"""brat standoff: a document is ``name.txt`` (its text) and ``name.ann`` (its annotations).

Read (:func:`read_brat`): a folder (every ``*.ann`` with the ``.txt`` of the same name, in
natural name order; a ``.txt`` without ``.ann`` is a document without labels, an ``.ann``
without ``.txt`` an error; subfolders are not read), or one ``.ann`` or ``.txt``. The
external id is the file's stem. All or nothing: any problem raises
:class:`~core.errors.InputError` naming the ``.ann`` and its 1-based line.

The text. The ``.txt`` is UTF-8 and is kept as it is, line ends included; entities' offsets
count characters (code points). brat itself reads the text with universal newlines (a
Windows line end, CRLF, counts as one character: brat issue #853) and counts a UTF-8
byte-order mark as a character; tools that read the file as Python 3 does with
``newline=""`` count a CRLF as two and no BOM. So for a ``.txt`` holding a BOM or CRLFs the
offsets are read the way under which every T line's quoted text matches, brat's way first,
and turned into offsets into the text as kept (the BOM is dropped). A whitespace-only
difference between the quote and the text is accepted (brat writes one line per
annotation); any other is refused, saying what the text holds there.

Lines (tab-separated, as brat's own parser takes them):

* ``T1<TAB>Disease 0 5<TAB>fever``: an entity. A discontinuous one (``0 5;10 15``, quoted as
  its fragments joined by a space) is refused with ``discontinuous="refuse"`` (the default)
  and, with ``"join"``, read as the one span covering its fragments (``[0, 15)``; counted in
  :attr:`BratReport.joined`). Overlapping or nested entities are refused naming both lines
  (the project stores none), unless ``overlapping`` (the project lets entities overlap and
  nest: they are kept); two T lines with the same span and type are one entity, with the
  same span and different types refused in either case (two entities never share an
  extent).
* ``A1<TAB>Temporality T1 Historical`` (``M1`` is its old name): the entity's attribute
  ``Temporality`` has the value ``Historical``. With ``attributes`` (the project's
  declaration) a name or value matches a declared one exactly, else ignoring case (and
  ``_`` for a space), and each is checked as an import checks JSONL attributes: an unknown
  attribute or value, or one that does not apply to the label, is refused with the A line.
  A binary attribute, ``A1<TAB>Negated T1``, sets the declared attribute that has a value
  called ``Negated`` (``negation=Affirmed,Negated``: negation = Negated); failing that, an
  attribute of two values named ``Negated`` gets its second value (``negated=no,yes``:
  negated = yes). One that maps to nothing, or to several attributes, is refused. Without
  ``attributes`` values are taken as written and a binary attribute is refused.
* ``#1<TAB>AnnotatorNotes T1<TAB>text``: a note on an entity, kept in the document's
  ``meta["brat_notes"]`` (``[{"start", "end", "label", "note"}]``); the writer writes it
  back.
* ``R1<TAB>dosage_of Arg1:T2 Arg2:T1``: a relation from the entity ``Arg1`` (its head) to
  ``Arg2`` (its tail), into ``DocumentRecord.relations``. With ``relations`` (the project's
  relation types) the type matches a declared one exactly, else ignoring case (and ``_``
  for a space), and is checked as an import checks JSONL relations: an unknown type, ends
  whose labels the type does not link, an entity linked to itself, are refused with the R
  line; without, the type is taken as written. A document is labelled for relations when
  its ``.ann`` holds an R line or the project declares relation types (its pairs without one
  teach "no relation"). Attributes of relations cannot be stored (refused); notes on them
  are left out and counted.
* ``E`` (events) and ``*`` (equivalences): not stored, so a file holding any is refused
  (saying how many), unless ``skip`` holds ``"relations"``: then they are left out, with
  the R lines, their events' trigger T lines and the attributes and notes on them, and
  counted in :attr:`BratReport.skipped`. ``N`` (normalisations to a knowledge base)
  likewise, with ``"normalizations"``.

Write (:func:`write_brat`): a folder with a ``.txt`` and an ``.ann`` per document, named
after its external id (made safe for any file system and unique; ``document-N`` without
one), T lines, A lines (``name T1 value``) for values other than the default, R lines
(``type Arg1:T1 Arg2:T2``, the head first) and notes.
The folder is written beside the target and then moved in place, so a failure leaves
nothing half-written. Pure Python: no Qt, no database.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
import shutil
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from core.errors import ExportError, InputError, Remedy
from core.formats._common import (
    LINE_BREAK_CHARS,
    check_label,
    check_no_nul,
    check_offsets,
    export_id,
    iter_lines,
    read_text,
    record_name,
    utf16_to_code_points,
)
from core.types import AttributeSpec, DocumentRecord, EntitySpan, Relation, RelationSpec, TaskKind

DISCONTINUOUS = ("refuse", "join")
SKIPPABLE = ("relations", "normalizations")
NOTES_KEY = "brat_notes"

_NER = frozenset({TaskKind.NER})
_NER_AND_RELATIONS = frozenset({TaskKind.NER, TaskKind.RELATION})
_ID = re.compile(r"[A-Za-z]+[0-9]+\S*|#[A-Za-z]*[0-9]+\S*|\*")
_OFFSET = re.compile(r"[0-9]+")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_QUOTE_BREAKS = str.maketrans({ch: " " for ch in LINE_BREAK_CHARS})
_SHOWN = 60  # characters of a text shown in an error


@dataclass
class BratReport:
    """What a read did besides returning records, for the import summary: how many
    discontinuous entities were joined, how many lines of each kind were skipped
    (``relations``, ``events``, ``equivalences``, ``event triggers``, ``normalizations``,
    and ``attributes`` / ``notes`` on what was skipped), how many notes were kept."""

    joined: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    notes: int = 0

    def count_skipped(self, what: str, n: int = 1) -> None:
        if n:
            self.skipped[what] = self.skipped.get(what, 0) + n

    def summary(self) -> list[str]:
        """What the read joined, skipped and kept, a phrase each, for people (the import's
        summary in the CLI and the app); empty when it did none of it."""
        parts = []
        if self.joined:
            parts.append(f"{self.joined} discontinuous entit"
                         f"{'y' if self.joined == 1 else 'ies'} joined into the span covering "
                         "its fragments")
        if self.skipped:
            parts.append("skipped (not stored): "
                         + ", ".join(f"{what} {n}" for what, n in self.skipped.items()))
        if self.notes:
            parts.append(f"{self.notes} note(s) kept in the documents' metadata")
        return parts


# --- reading -------------------------------------------------------------------------------


def read_brat(
    path: str | Path,
    *,
    encoding: str | None = None,
    attributes: Sequence[AttributeSpec] | None = None,
    discontinuous: str = "refuse",
    skip: Collection[str] = (),
    relations: Sequence[RelationSpec] | None = None,
    overlapping: bool = False,
) -> tuple[list[DocumentRecord], BratReport]:
    """Read a folder of ``.txt``/``.ann`` pairs, or one ``.ann`` or ``.txt`` (see the module
    docstring for the rules). ``attributes``: the project's declaration, to map and check
    attribute lines (None: take them as written); ``relations``: the project's relation
    types, to map and check R lines (None: take them as written); ``discontinuous``:
    "refuse" or "join";
    ``skip``: any of "relations", "normalizations". ``encoding`` overrides UTF-8.
    ``overlapping``: the project lets entities overlap and nest, so they are read, not
    refused.

    Returns the records (source: the ``.ann``, or the ``.txt`` without one) and what was
    joined and skipped. Raises InputError on any problem, and then returns nothing."""
    if discontinuous not in DISCONTINUOUS:
        raise ValueError(f"discontinuous must be one of {DISCONTINUOUS}, not {discontinuous!r}")
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise ValueError(f"cannot skip {sorted(unknown)}: use {' or '.join(SKIPPABLE)}")
    path = Path(path)
    report = BratReport()
    options = _Options(encoding, None if attributes is None else tuple(attributes),
                       discontinuous, frozenset(skip),
                       None if relations is None else tuple(relations), overlapping)
    records = []
    for stem, ann, txt in _pairs(path):
        record = _read_document(stem, ann, txt, options, report)
        if record is not None:
            records.append(record)
    return records, report


@dataclass(frozen=True)
class _Options:
    encoding: str | None
    specs: tuple[AttributeSpec, ...] | None
    discontinuous: str
    skip: frozenset[str]
    relation_specs: tuple[RelationSpec, ...] | None = None
    overlapping: bool = False


def _pairs(path: Path) -> list[tuple[str, Path | None, Path]]:
    """``(stem, ann or None, txt)`` for each document under ``path``, in natural order."""
    if path.is_dir():
        try:
            files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
        except OSError as exc:
            raise InputError(path, None, f"cannot list the folder: {exc.strerror or exc}") from None
        anns = {p.stem: p for p in files if p.suffix.lower() == ".ann"}
        txts = {p.stem: p for p in files if p.suffix.lower() == ".txt"}
        if not anns and not txts:
            raise InputError(path, None, "this folder holds no .ann or .txt files (a brat "
                             "document is name.txt with its annotations in name.ann; "
                             "subfolders are not read)")
        for stem, ann in sorted(anns.items(), key=lambda item: _natural(item[0])):
            if stem not in txts:
                raise InputError(ann, None, f"no {stem}.txt beside it: a brat document is "
                                 f"{stem}.txt (the text) with {stem}.ann (its annotations)")
        return [(stem, anns.get(stem), txts[stem])
                for stem in sorted(txts, key=_natural)]
    suffix = path.suffix.lower()
    if suffix == ".ann":
        txt = _sibling(path, ".txt")
        if txt is None:
            if not path.exists():
                raise InputError(path, None, "file not found")
            raise InputError(path, None, f"no {path.stem}.txt beside it: a brat document is "
                             f"{path.stem}.txt (the text) with {path.stem}.ann (its annotations)")
        return [(path.stem, path, txt)]
    if suffix == ".txt":
        if not path.exists():
            raise InputError(path, None, "file not found")
        return [(path.stem, _sibling(path, ".ann"), path)]
    raise InputError(path, None, "brat standoff is a folder of name.txt + name.ann pairs: give "
                     "the folder, a .ann or a .txt")


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _natural(name: str) -> list[Any]:
    """doc2 before doc10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
            for part in re.split(r"(\d+)", name) if part]


@dataclass
class _TextBound:
    number: int
    ident: str
    label: str
    fragments: list[tuple[int, int]]
    quote: str | None


@dataclass
class _Attribute:
    number: int
    ident: str
    name: str
    target: str
    value: str | None


@dataclass
class _Note:
    number: int
    target: str
    text: str


@dataclass
class _RelationLine:
    number: int
    ident: str
    label: str
    head: str  # the T id of Arg1
    tail: str  # of Arg2


@dataclass
class _Lines:
    """An .ann file parsed line by line, before its offsets are checked against the text."""

    textbounds: list[_TextBound] = field(default_factory=list)
    attributes: list[_Attribute] = field(default_factory=list)
    notes: list[_Note] = field(default_factory=list)
    # (line, kind letter, ident) of R, E and * lines; E lines' trigger ids; R lines parsed.
    relations: list[tuple[int, str, str]] = field(default_factory=list)
    relation_lines: list[_RelationLine] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)
    normalizations: list[tuple[int, str, str]] = field(default_factory=list)  # line, id, target
    ids: dict[str, int] = field(default_factory=dict)  # id -> line


def _read_document(stem: str, ann: Path | None, txt: Path, options: _Options,
                   report: BratReport) -> DocumentRecord | None:
    text, has_bom = _read_txt(txt, options.encoding)
    if ann is None:
        if not text.strip():
            return None  # an empty file, as the text reader skips it
        return DocumentRecord(text=text, external_id=stem, source=str(txt))
    lines = _parse_ann(read_text(ann, options.encoding), ann)
    if not text.strip() and not lines.ids:
        return None
    _check_skippable(lines, ann, options, report)
    entities = _entities(lines, text, has_bom, ann, txt, options, report)
    spans, by_id = _merge(entities, ann, overlapping=options.overlapping)
    values = _attribute_values(lines, by_id, ann, options, report)
    notes = _notes(lines, by_id, ann, report)
    meta: dict[str, Any] = {NOTES_KEY: notes} if notes else {}
    relations: tuple[Relation, ...] = ()
    labelled_for = _NER
    if "relations" not in options.skip:
        relations = _relations(lines, spans, by_id, ann, options.relation_specs)
        if lines.relation_lines or options.relation_specs:
            labelled_for = _NER_AND_RELATIONS
    return DocumentRecord(
        text=text,
        external_id=stem,
        spans=tuple(EntitySpan(e.start, e.end, e.label, values.get(e.ident, {})) for e in spans),
        meta=meta,
        source=str(ann),
        labelled_for=labelled_for,
        relations=relations,
    )


def _relations(lines: _Lines, spans: list[_Entity], by_id: dict[str, _Entity], ann: Path,
               specs: tuple[RelationSpec, ...] | None) -> tuple[Relation, ...]:
    """The R lines as relations between the document's entities (indices into ``spans``),
    each checked against the project's types when given (module docstring)."""
    index = {id(e): i for i, e in enumerate(spans)}
    out: dict[Relation, None] = {}
    for r in lines.relation_lines:
        ends = []
        for role, target in (("Arg1", r.head), ("Arg2", r.tail)):
            entity = by_id.get(target)
            if entity is None:
                what = ("is not an entity (T line)" if target in lines.ids
                        else "is not defined in this file")
                raise InputError(ann, r.number, f"{r.ident}: its {role}, {target}, {what}")
            ends.append(entity)
        head, tail = ends
        where = f"{r.ident} {r.label} from {r.head} {head.label} to {r.tail} {tail.label}"
        if head is tail:
            raise InputError(ann, r.number, f"{where}: links an entity to itself")
        label = r.label
        if specs is not None:
            from core.store.relations import relation_problem  # the check an import makes

            if not specs:
                fact = f"{where}: the project declares no relation type"
                raise InputError(ann, r.number, f"{fact} (declare them first: annotator init "
                                 '... --relation "name=Head>Tail"), or pass --brat-skip '
                                 "relations", remedy=_skip_relations(fact))
            spec = _match(r.label, specs, lambda s: s.name)
            label = spec.name if spec is not None else r.label
            problem = relation_problem(specs, label, head.label, tail.label)
            if problem is not None:
                fact = f"{where}: {problem}"
                raise InputError(ann, r.number, f"{fact}; pass --brat-skip relations to "
                                 "import the entities without the relations",
                                 remedy=_skip_relations(fact))
        out[Relation(index[id(head)], index[id(tail)], label)] = None
    return tuple(out)


def _read_txt(txt: Path, encoding: str | None) -> tuple[str, bool]:
    """The text as kept (a leading BOM dropped) and whether the file began with a UTF-8 BOM."""
    text = read_text(txt, encoding)
    try:
        with txt.open("rb") as handle:
            head = handle.read(len(codecs.BOM_UTF8))
    except OSError as exc:
        raise InputError(txt, None, f"cannot read the file: {exc.strerror or exc}") from None
    has_bom = head == codecs.BOM_UTF8
    if text.startswith("\ufeff"):  # an explicit --encoding utf-8 keeps it
        text, has_bom = text[1:], True
    return text, has_bom


def _parse_ann(content: str, ann: Path) -> _Lines:
    lines = _Lines()
    for number, _, line in iter_lines(content):
        if not line.strip():
            continue
        ident, tab, rest = line.partition("\t")
        ident = ident.strip()
        if not tab or not _ID.fullmatch(ident):
            raise InputError(ann, number, f"expected an annotation id (T1, A1, R1, #1, ...), "
                             f"a tab and the annotation; found {line[:_SHOWN]!r} (brat "
                             "standoff lines are tab-separated)")
        if ident != "*":
            if ident in lines.ids:
                raise InputError(ann, number, f"the id {ident} is used already on line "
                                 f"{lines.ids[ident]}")
            lines.ids[ident] = number
        kind = ident[0]
        if kind == "T":
            lines.textbounds.append(_textbound(number, ident, rest, ann))
        elif kind in "AM":
            lines.attributes.append(_attribute(number, ident, rest, ann))
        elif kind == "#":
            body, _, note = rest.partition("\t")
            parts = body.split()
            if len(parts) != 2:
                raise InputError(ann, number, f"{ident}: a note is '#1<TAB>AnnotatorNotes T1"
                                 f"<TAB>text'; found {rest[:_SHOWN]!r}")
            lines.notes.append(_Note(number, parts[1], note.strip()))
        elif kind in "RE*":
            body = rest.partition("\t")[0].split()
            if not body:
                raise InputError(ann, number, f"{ident}: the line names no type")
            lines.relations.append((number, kind, ident))
            if kind == "R":
                lines.relation_lines.append(_relation_line(number, ident, body, rest, ann))
            if kind == "E":
                trigger = body[0].partition(":")[2]
                if not trigger:
                    raise InputError(ann, number, f"{ident}: an event is 'E1<TAB>Type:T1 "
                                     f"Role:T2 ...'; found {rest[:_SHOWN]!r}")
                lines.triggers.add(trigger)
        elif kind == "N":
            body = rest.partition("\t")[0].split()
            if len(body) < 3:
                raise InputError(ann, number, f"{ident}: a normalisation is 'N1<TAB>Reference "
                                 f"T1 db:id<TAB>name'; found {rest[:_SHOWN]!r}")
            lines.normalizations.append((number, ident, body[1]))
        else:
            raise InputError(ann, number, f"unknown annotation type {ident!r}: brat lines "
                             "start with T, A, M, R, E, N, # or *")
    return lines


def _textbound(number: int, ident: str, rest: str, ann: Path) -> _TextBound:
    body, tab, quote = rest.partition("\t")
    label_and_offsets = body.strip().split(None, 1)
    how = ("a text-bound annotation is 'T1<TAB>Type start end<TAB>text' (discontinuous: "
           "'Type 0 5;10 15')")
    if len(label_and_offsets) != 2:
        raise InputError(ann, number, f"{ident}: no offsets; {how}; found {rest[:_SHOWN]!r}")
    label, offsets = label_and_offsets
    check_label(label, ann, number, ident)
    fragments = []
    for fragment in offsets.split(";"):
        parts = fragment.split()
        if len(parts) != 2 or not all(_OFFSET.fullmatch(p) for p in parts):
            raise InputError(ann, number, f"{ident}: {fragment.strip()!r} is not two offsets "
                             f"(whole numbers); {how}")
        fragments.append((int(parts[0]), int(parts[1])))
    return _TextBound(number, ident, label, fragments, quote if tab else None)


def _relation_line(number: int, ident: str, body: list[str], rest: str,
                   ann: Path) -> _RelationLine:
    args = dict(part.partition(":")[::2] for part in body[1:])
    if len(body) != 3 or set(args) != {"Arg1", "Arg2"} or not all(args.values()):
        raise InputError(ann, number, f"{ident}: a relation is 'R1<TAB>Type Arg1:T1 Arg2:T2' "
                         f"(Arg1 its head, Arg2 its tail); found {rest[:_SHOWN]!r}")
    return _RelationLine(number, ident, body[0], args["Arg1"], args["Arg2"])


def _attribute(number: int, ident: str, rest: str, ann: Path) -> _Attribute:
    # As brat reads it: the name and the target end at a space, the value is the rest.
    parts = rest.partition("\t")[0].strip().split(None, 2)
    if len(parts) < 2:
        raise InputError(ann, number, f"{ident}: an attribute is 'A1<TAB>Name T1 Value' (or "
                         f"'A1<TAB>Name T1' for a binary one); found {rest[:_SHOWN]!r}")
    value = parts[2].strip() if len(parts) == 3 else None
    return _Attribute(number, ident, parts[0], parts[1], value)


def _check_skippable(lines: _Lines, ann: Path, options: _Options, report: BratReport) -> None:
    if lines.relations:
        counts = {kind: sum(1 for _, k, _ in lines.relations if k == kind) for kind in "RE*"}
        if "relations" not in options.skip:
            if not counts["E"] and not counts["*"]:
                return  # relations alone: read
            what = ", ".join(_count(n, name, letter) for name, letter, n in (
                ("event", "E", counts["E"]), ("equivalence", "*", counts["*"])) if n)
            first = next(number for number, kind, _ in lines.relations if kind in "E*")
            fact = f"events and equivalences cannot be imported (this file has {what})"
            raise InputError(ann, first, f"{fact}; pass --brat-skip relations to import its "
                             "entities without them (and without its relations)",
                             remedy=_skip_relations(fact))
        report.count_skipped("relations", counts["R"])
        report.count_skipped("events", counts["E"])
        report.count_skipped("equivalences", counts["*"])
    if lines.normalizations:
        if "normalizations" not in options.skip:
            n = len(lines.normalizations)
            fact = (f"normalisations cannot be imported (this file has "
                    f"{_count(n, 'normalisation', 'N')})")
            raise InputError(ann, lines.normalizations[0][0], f"{fact}; pass --brat-skip "
                             "normalizations to import the entities without them",
                             remedy=Remedy("skip", "normalizations", fact,
                                           "Leave the normalisations out",
                                           "the entities are imported without their "
                                           "normalisations (N lines)"))
        report.count_skipped("normalizations", len(lines.normalizations))


def _count(n: int, name: str, letter: str) -> str:
    return f"{n} {name} ({letter} line)" if n == 1 else f"{n} {name}s ({letter} lines)"


def _where(fragments: list[tuple[int, int]]) -> str:
    if len(fragments) == 1:
        return f"[{fragments[0][0]}, {fragments[0][1]})"
    return ";".join(f"{s} {e}" for s, e in fragments)


def _skip_relations(fact: str) -> Remedy:
    """The remedy of a problem that leaving the relations out takes away."""
    return Remedy("skip", "relations", fact, "Leave the relations out",
                  "the entities and their attributes are imported without the relations "
                  "(R lines), events and equivalences")


@dataclass
class _Entity:
    start: int
    end: int
    label: str
    number: int
    ident: str


def _entities(lines: _Lines, text: str, has_bom: bool, ann: Path, txt: Path,
              options: _Options, report: BratReport) -> list[_Entity]:
    """The T lines as spans of the text as kept, under the first way of counting offsets
    (see the module docstring) for which every quote matches."""
    textbounds = []
    for tb in lines.textbounds:
        if tb.ident in lines.triggers:  # only when relations are skipped (checked before)
            report.count_skipped("event triggers")
            continue
        if len(tb.fragments) > 1 and options.discontinuous == "refuse":
            shown = ";".join(f"{s} {e}" for s, e in tb.fragments)
            fact = (f"{tb.ident} {tb.label} is discontinuous ({len(tb.fragments)} fragments: "
                    f"{shown}); an entity here is one span")
            raise InputError(ann, tb.number, f"{fact}: pass --discontinuous join to import it "
                             "as the span covering its fragments, or split it into one T line "
                             "per fragment",
                             remedy=Remedy("discontinuous", "join", fact, "Join the fragments",
                                           "each discontinuous entity is imported as the one "
                                           "span covering its fragments"))
        textbounds.append(tb)
    first_error: InputError | None = None
    for bom_counted, crlf_as_one in _ways(has_bom, "\r\n" in text):
        try:
            entities = _resolve(textbounds, text, bom_counted, crlf_as_one, ann, txt)
        except InputError as exc:
            first_error = first_error or exc
            continue
        report.joined += sum(1 for tb in textbounds if len(tb.fragments) > 1)
        return entities
    assert first_error is not None
    raise first_error


def _ways(has_bom: bool, has_crlf: bool) -> list[tuple[bool, bool]]:
    """Ways of counting offsets, brat's (BOM counted, CRLF as one character) first."""
    return [(b, c) for b in ((True, False) if has_bom else (False,))
            for c in ((True, False) if has_crlf else (False,))]


def _resolve(textbounds: list[_TextBound], text: str, bom_counted: bool, crlf_as_one: bool,
             ann: Path, txt: Path) -> list[_Entity]:
    seen = text.replace("\r\n", "\n") if crlf_as_one else text
    if bom_counted:
        seen = "\ufeff" + seen
    # Where each CRLF sits in the text seen (BOM left out), to map offsets back.
    crlfs = [m.start() - i for i, m in enumerate(re.finditer("\r\n", text))] if crlf_as_one else []

    def kept(offset: int) -> int:
        offset = max(offset - 1, 0) if bom_counted else offset
        return offset + bisect.bisect_left(crlfs, offset)

    entities = []
    for tb in textbounds:
        pieces = []
        for start, end in tb.fragments:
            try:
                check_offsets(seen, start, end, ann, tb.number,
                              f"{tb.ident} (offsets into {txt.name})")
            except InputError as exc:
                raise InputError(ann, tb.number, exc.problem + _hint(tb, seen)) from None
            pieces.append(seen[start:end])
        if tb.quote is not None and tb.quote.strip():
            _check_quote(" ".join(pieces), tb, seen, ann, txt)
        start = kept(min(s for s, _ in tb.fragments))
        end = kept(max(e for _, e in tb.fragments))
        if start >= end:
            raise InputError(ann, tb.number, f"{tb.ident}: the span covers only the byte-order "
                             f"mark of {txt.name}")
        entities.append(_Entity(start, end, tb.label, tb.number, tb.ident))
    return entities


def _check_quote(found: str, tb: _TextBound, seen: str, ann: Path, txt: Path) -> None:
    quote = tb.quote or ""
    if found == quote or found.split() == quote.split():
        return
    hint = _hint(tb, seen) or f"; was {txt.name} changed after it was annotated?"
    raise InputError(ann, tb.number, f"{tb.ident} {tb.label} {_where(tb.fragments)}: "
                     f"{txt.name} holds {_shown(found)} there, but the line quotes "
                     f"{_shown(quote)}{hint}")


def _hint(tb: _TextBound, seen: str) -> str:
    """Why the offsets of a line miss its quote, when they were counted in bytes or UTF-16."""
    quote = (tb.quote or "").split()
    if len(tb.fragments) != 1 or not quote:
        return ""
    start, end = tb.fragments[0]
    if seen.encode("utf-8")[start:end].decode("utf-8", "replace").split() == quote:
        return " (the offsets count UTF-8 bytes; brat counts characters)"
    s16, e16 = utf16_to_code_points(seen, start), utf16_to_code_points(seen, end)
    if s16 is not None and e16 is not None and seen[s16:e16].split() == quote:
        return " (the offsets count UTF-16 units, as JavaScript does; brat counts characters)"
    return ""


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def _merge(entities: list[_Entity], ann: Path, *, overlapping: bool = False,
           ) -> tuple[list[_Entity], dict[str, _Entity]]:
    """The entities in text order, one per span (two T lines of the same span and type are
    one entity), and each T id's entity; overlaps are refused naming both lines, unless
    ``overlapping``; two types on one span always are."""
    by_span: dict[tuple[int, int, str], _Entity] = {}
    by_id: dict[str, _Entity] = {}
    for entity in entities:
        key = (entity.start, entity.end, entity.label)
        by_id[entity.ident] = by_span.setdefault(key, entity)
    ordered = sorted(by_span.values(), key=lambda e: (e.start, e.end, e.number))
    if overlapping:
        extents: dict[tuple[int, int], _Entity] = {}
        for entity in sorted(ordered, key=lambda e: e.number):
            first = extents.setdefault((entity.start, entity.end), entity)
            if first is not entity:
                raise InputError(ann, entity.number, f"{entity.ident} {entity.label} "
                                 f"[{entity.start}, {entity.end}) has the same span as "
                                 f"{first.ident} {first.label} of line {first.number}: two "
                                 "entities never span exactly the same text (keep one)")
        return ordered, by_id
    for a, b in pairwise(ordered):
        if b.start < a.end:
            first, second = sorted((a, b), key=lambda e: e.number)
            raise InputError(ann, second.number, f"{second.ident} {second.label} "
                             f"[{second.start}, {second.end}) overlaps {first.ident} "
                             f"{first.label} [{first.start}, {first.end}) of line "
                             f"{first.number}: overlapping and nested entities cannot be "
                             "imported yet (the project stores one entity per character; "
                             "annotator init PROJECT --task ner --overlapping lets them "
                             "overlap)")
    return ordered, by_id


def _attribute_values(lines: _Lines, by_id: dict[str, _Entity], ann: Path,
                      options: _Options, report: BratReport) -> dict[str, dict[str, str]]:
    """The attribute values of each entity, by the id of its (first) T line."""
    values: dict[str, dict[str, str]] = {}
    given: dict[tuple[str, str], _Attribute] = {}
    for attr in lines.attributes:
        entity = by_id.get(attr.target)
        if entity is None:
            if attr.target[:1] == "R" and attr.target in lines.ids \
                    and "relations" not in options.skip:
                fact = (f"{attr.ident} is on the relation {attr.target}: attributes of "
                        "relations cannot be stored")
                raise InputError(ann, attr.number, f"{fact} (pass --brat-skip relations to "
                                 "leave the relations out)", remedy=_skip_relations(fact))
            if attr.target in lines.ids and (attr.target in lines.triggers
                                             or attr.target[0] in "RE"):
                report.count_skipped("attributes")  # on a relation or event that was skipped
                continue
            raise InputError(ann, attr.number, _unknown_target(attr.ident, attr.target, lines))
        name, value = _map_attribute(attr, entity, ann, options.specs)
        values_of = values.setdefault(entity.ident, {})
        before = given.get((entity.ident, name))
        if before is not None and values_of[name] != value:
            raise InputError(ann, attr.number, f"{attr.ident} sets {name}={value} on "
                             f"{attr.target}, but line {before.number} set it to "
                             f"{values_of[name]}")
        given[(entity.ident, name)] = attr
        values_of[name] = value
    return values


def _unknown_target(ident: str, target: str, lines: _Lines) -> str:
    if target in lines.ids:
        return f"{ident} is on {target}, which is not an entity (T line)"
    return f"{ident} is on {target}, which this file does not define"


def _map_attribute(attr: _Attribute, entity: _Entity, ann: Path,
                   specs: tuple[AttributeSpec, ...] | None) -> tuple[str, str]:
    where = f"{attr.ident} on {attr.target} {entity.label}"
    if specs is None:
        if attr.value is None:
            raise InputError(ann, attr.number, f"{where}: the binary attribute {attr.name!r} "
                             "can be read only into a project, which says which attribute "
                             "it sets (annotator import)")
        return attr.name, attr.value
    if attr.value is not None:
        spec = _match(attr.name, specs, lambda s: s.name)
        name = spec.name if spec is not None else attr.name
        value = attr.value
        if spec is not None:
            value = _match(attr.value, spec.values, lambda v: v) or attr.value
    else:
        name, value = _binary(attr, entity, ann, specs, where)
    from core.store.attributes import validation_problems  # the check an import makes

    problems = validation_problems(specs, entity.label, {name: value})
    if problems:
        raise InputError(ann, attr.number, f"{where}: " + "; ".join(problems))
    return name, value


def _match(word: str, items: Sequence[Any], key: Any) -> Any:
    """The item whose key is ``word``, else the one equal ignoring case and ``_`` for a space."""
    for item in items:
        if key(item) == word:
            return item
    folded = [item for item in items if _fold(key(item)) == _fold(word)]
    return folded[0] if len(folded) == 1 else None


def _fold(word: str) -> str:
    return word.replace("_", " ").casefold()


def _binary(attr: _Attribute, entity: _Entity, ann: Path, specs: tuple[AttributeSpec, ...],
            where: str) -> tuple[str, str]:
    """The (attribute, value) a binary attribute line sets (module docstring)."""
    by_value = [(s, v) for s in specs for v in s.values if _fold(v) == _fold(attr.name)]
    applying = [(s, v) for s, v in by_value if s.applies_to(entity.label)]
    candidates = applying or by_value
    if len(candidates) == 1:
        return candidates[0][0].name, candidates[0][1]
    if len(candidates) > 1:
        raise InputError(ann, attr.number, f"{where}: the binary attribute {attr.name!r} is a "
                         "value of several attributes (" + ", ".join(s.name for s, _ in
                                                                     candidates) +
                         "); write the attribute and its value, e.g. "
                         f"'{attr.ident}\t{candidates[0][0].name} {attr.target} {attr.name}'")
    named = [s for s in specs if _fold(s.name) == _fold(attr.name)]
    if len(named) == 1 and len(named[0].values) == 2:
        return named[0].name, named[0].values[1]
    declared = ", ".join(str(s) for s in specs) or "none declared"
    if named:
        raise InputError(ann, attr.number, f"{where}: the binary attribute {attr.name!r} "
                         f"names the attribute {named[0].name!r}, which has "
                         f"{len(named[0].values)} values, so it is not clear which it sets; "
                         "write the value (A1<TAB>Name T1 Value)")
    raise InputError(ann, attr.number, f"{where}: the binary attribute {attr.name!r} is "
                     "neither a value of a declared attribute nor the name of one with two "
                     f"values (attributes: {declared}); declare it with annotator init "
                     "--attribute, or write the attribute and its value")


def _notes(lines: _Lines, by_id: dict[str, _Entity], ann: Path,
           report: BratReport) -> list[dict[str, Any]]:
    notes = []
    for note in lines.notes:
        entity = by_id.get(note.target)
        if entity is None:
            if note.target in lines.ids:  # on a relation, event or normalisation skipped
                report.count_skipped("notes")
                continue
            raise InputError(ann, note.number, f"the note is on {note.target}, which this "
                             "file does not define")
        notes.append({"start": entity.start, "end": entity.end, "label": entity.label,
                      "note": note.text})
        report.notes += 1
    return notes


# --- writing -------------------------------------------------------------------------------


def write_brat(
    records: Iterable[DocumentRecord],
    folder: str | Path,
    *,
    attributes: Sequence[AttributeSpec] | None = None,
    include_text: bool = True,
) -> int:
    """Write a ``.txt`` and an ``.ann`` per record into ``folder`` and return how many.

    ``attributes`` (the project's declaration) leaves out values equal to the default;
    without it every value is written. The target is a new folder, an empty one or one
    holding only ``.txt`` and ``.ann`` files (replaced whole); the files are written into a
    folder beside it, moved in place at the end, so an error (ExportError) leaves the
    target as it was. Offsets are written as brat counts them (a CRLF is one character)."""
    if not include_text:
        raise ExportError("brat standoff needs the text (the .txt files); use jsonl without "
                          "the text instead")
    folder = Path(folder)
    _check_target(folder)
    defaults = {s.name: s.default for s in attributes or ()}
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.mkdir()
    except OSError as exc:
        raise ExportError(f"{folder}: cannot write here: {exc.strerror or exc}") from None
    try:
        names: set[str] = set()
        count = 0
        for index, record in enumerate(records):
            name = _file_name(record, index, names)
            ann = _ann_text(record, index, defaults)
            _write(tmp / f"{name}.txt", record.text)
            _write(tmp / f"{name}.ann", ann)
            count += 1
        _move_in(tmp, folder)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise ExportError(f"{folder}: cannot write: {exc.strerror or exc}") from None
        raise
    return count


def _check_target(folder: Path) -> None:
    if folder.is_file():
        raise ExportError(f"{folder} is a file: a brat export is a folder of .txt and .ann "
                          "files; give a folder name")
    if folder.is_dir():
        for item in folder.iterdir():
            if not (item.is_file() and item.suffix.lower() in (".txt", ".ann")):
                raise ExportError(f"{folder} holds {item.name}, which is not a .txt or .ann "
                                  "file; export into a new or empty folder (an export "
                                  "replaces the folder's .txt and .ann files)")


def _move_in(tmp: Path, folder: Path) -> None:
    if not folder.exists():
        os.replace(tmp, folder)
        return
    old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.old")
    os.replace(folder, old)
    try:
        os.replace(tmp, folder)
    except BaseException:
        os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    # Text as it is: no BOM, line ends untouched.
    with open(path, "x", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _file_name(record: DocumentRecord, index: int, taken: set[str]) -> str:
    """A file stem from the record's id, safe on every file system, unique ignoring case."""
    given = export_id(record)
    base = _UNSAFE_NAME.sub("_", given).strip("._ ")[:100] if given else ""
    base = base or f"document-{index + 1}"
    if base.split(".")[0].upper() in _WINDOWS_RESERVED:
        base = "_" + base
    name, n = base, 1
    while name.casefold() in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name.casefold())
    return name


def _ann_text(record: DocumentRecord, index: int, defaults: dict[str, str]) -> str:
    where = record_name(index, record.external_id)
    check_no_nul(record.text, index, record)
    text = record.text
    # brat counts a CRLF as one character; a span with an end between CR and LF cannot be
    # said that way, and then the document's offsets are written as Python counts them.
    crlfs = [m.start() for m in re.finditer("\r\n", text)]
    cut = {p + 1 for p in crlfs}
    as_brat = not any(s.start in cut or s.end in cut for s in record.spans)

    def offset(at: int) -> int:
        return at - bisect.bisect_left(crlfs, at - 1) if as_brat and crlfs else at

    out: list[str] = []
    ids: dict[tuple[int, int, str], str] = {}
    n_attr = 0
    for n, span in enumerate(sorted(record.spans, key=lambda s: (s.start, s.end)), start=1):
        _check_word(span.label, "the label", where)
        quote = text[span.start:span.end].translate(_QUOTE_BREAKS)
        out.append(f"T{n}\t{span.label} {offset(span.start)} {offset(span.end)}\t{quote}\n")
        ids[(span.start, span.end, span.label)] = f"T{n}"
        for name, value in span.attributes.items():
            if defaults.get(name) == value:
                continue
            _check_word(name, "the attribute name", where)
            n_attr += 1
            out.append(f"A{n_attr}\t{name} T{n} {value.translate(_QUOTE_BREAKS)}\n")
    notes = record.meta.get(NOTES_KEY) if isinstance(record.meta, dict) else None
    n_note = 0
    for note in notes if isinstance(notes, list) else ():
        if not isinstance(note, dict):
            continue
        key = (note.get("start"), note.get("end"), note.get("label"))
        target = ids.get(key)  # type: ignore[arg-type]
        if target is None or not isinstance(note.get("note"), str):
            continue  # the entity it was on is gone
        n_note += 1
        out.append(f"#{n_note}\tAnnotatorNotes {target}\t"
                   f"{note['note'].translate(_QUOTE_BREAKS)}\n")
    for n, relation in enumerate(record.relations, start=1):
        _check_word(relation.label, "the relation type", where)
        head, tail = record.spans[relation.head], record.spans[relation.tail]
        out.append(f"R{n}\t{relation.label} Arg1:{ids[(head.start, head.end, head.label)]} "
                   f"Arg2:{ids[(tail.start, tail.end, tail.label)]}\n")
    return "".join(out)


def _check_word(word: str, what: str, where: str) -> None:
    if not word or any(ch.isspace() for ch in word):
        raise ExportError(f"{where}: {what} {word!r} holds a space, which brat standoff "
                          "cannot store (rename it, or export as jsonl)")
