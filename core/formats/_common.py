"""Shared helpers of the format readers and writers: decoding, lines, offsets, safe writing."""

from __future__ import annotations

import codecs
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from core.errors import ExportError, InputError
from core.types import DocumentRecord, Split


class TextSink(Protocol):
    """Where the writers put their output (an open text file, a StringIO...)."""

    def write(self, text: str, /) -> int: ...


# Line ends as the readers see them: CRLF, LF or a lone CR. Other Unicode line separators
# (U+2028, U+0085...) stay inside the text on purpose: they may legitimately occur there.
LINE_END = re.compile(r"\r\n|\r|\n")
# The characters str.splitlines() breaks at; the CoNLL writer turns each into a sentence break.
LINE_BREAK_CHARS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_SURROGATE = re.compile("[\ud800-\udfff]")
_ENCODING_HINT = (
    "if the file was saved in another encoding (for example by Excel on Windows), "
    "open it again with --encoding latin-1 (or cp1252), or save it as UTF-8"
)


def read_text(path: Path, encoding: str | None = None) -> str:
    """Read and decode a whole file: UTF-8 (BOM optional) or UTF-16/32 with a BOM,
    or ``encoding`` when given. Raises InputError for unreadable, binary or misencoded files."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(path, None, "this is a folder, not a file") from None
    except FileNotFoundError:
        raise InputError(path, None, "file not found") from None
    except OSError as exc:
        raise InputError(path, None, f"cannot read the file: {exc.strerror or exc}") from None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(path, None, f"unknown encoding {encoding!r}") from None
        text = _decode(path, data, encoding)
    elif bom_encoding(data) is not None:
        text = _decode(path, data, bom_encoding(data) or "")
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise InputError(
                path,
                data.count(b"\n", 0, nul) + 1,
                f"this looks like a binary file (a NUL byte at byte offset {nul}), not text; "
                "if it is UTF-16 text without a byte-order mark, use --encoding utf-16",
            )
        text = _decode(path, data, "utf-8-sig")
    del data
    if "\x00" in text:
        nul = text.index("\x00")
        raise InputError(
            path,
            text.count("\n", 0, nul) + 1,
            "this looks like a binary file (it holds NUL characters)",
        )
    return text


def bom_encoding(data: bytes) -> str | None:
    """The UTF-16/32 codec a byte-order mark announces (UTF-8's BOM is left to utf-8-sig)."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        name = encoding.replace("-sig", "")
        if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
            # Lines cannot be found by looking for b"\n" in these encodings.
            raise InputError(
                path, None, f"byte offset {exc.start}: the text is not valid {name} ({exc.reason})"
            ) from None
        line = data.count(b"\n", 0, exc.start) + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode(encoding, errors="replace")) + 1
        raise InputError(
            path,
            line,
            f"column {column} (byte offset {exc.start}): byte 0x{bad} is not valid "
            f"{name}; {_ENCODING_HINT}",
        ) from None


def iter_lines(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(line_number, start_offset, line)`` for each line, without its line end."""
    number = 1
    pos = 0
    for match in LINE_END.finditer(text):
        yield number, pos, text[pos : match.start()]
        pos = match.end()
        number += 1
    if pos < len(text):
        yield number, pos, text[pos:]


class LineCounter:
    """Turn increasing character offsets into 1-based line numbers without rescanning."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1

    def line_at(self, offset: int) -> int:
        if offset < self._pos:
            self._pos, self._line = 0, 1
        self._line += self._text.count("\n", self._pos, offset)
        self._pos = offset
        return self._line


def check_text(text: Any, path: Path, line: int | None, what: str = "the text") -> str:
    """Return ``text`` if it is a non-empty string without unpaired surrogates."""
    if not isinstance(text, str):
        raise InputError(path, line, f"{what} should be a string, not {kind(text)}")
    if text == "":
        raise InputError(path, line, f"{what} is empty")
    bad = _SURROGATE.search(text)
    if bad:
        raise InputError(
            path,
            line,
            f"{what} holds half of a character (unpaired UTF-16 surrogate "
            f"\\u{ord(bad.group()):04x} at character {bad.start()}); the file was probably cut "
            "in the middle of an emoji or produced by a broken exporter",
        )
    return text


def check_offsets(
    text: str, start: Any, end: Any, path: Path, line: int | None, where: str
) -> tuple[int, int]:
    """Validate a ``[start, end)`` character span into ``text``; ``where`` names it in errors."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(
                path, line, f"{where}: the {name} offset {value!r} is not a whole number"
            )
    if start < 0:
        raise InputError(path, line, f"{where}: the start offset {start} is negative")
    if start >= end:
        raise InputError(
            path, line, f"{where}: the span [{start}, {end}) is empty or reversed (start >= end)"
        )
    if end > len(text):
        hint = ""
        if end <= utf16_length(text):
            hint = (
                f" ({utf16_length(text)} in UTF-16 units: the offsets may have been counted by "
                "a JavaScript tool; they must count characters)"
            )
        raise InputError(
            path,
            line,
            f"{where}: the span [{start}, {end}) ends after the text, which is "
            f"{len(text)} characters long{hint}",
        )
    return start, end


def utf16_length(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_to_code_points(text: str, offset: int) -> int | None:
    """Map a UTF-16 code-unit offset to a code-point offset; None if it splits a character."""
    units = 0
    for index, ch in enumerate(text):
        if units == offset:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > offset:
            return None
    return len(text) if units == offset else None


def check_label(label: Any, path: Path, line: int | None, where: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise InputError(path, line, f"{where}: the label {label!r} should be a non-empty name")
    return label.strip()


_SPLITS = {
    "train": Split.TRAIN,
    "training": Split.TRAIN,
    "dev": Split.DEV,
    "devel": Split.DEV,
    "val": Split.DEV,
    "valid": Split.DEV,
    "validation": Split.DEV,
    "test": Split.TEST,
    "unassigned": Split.UNASSIGNED,
}


def parse_split(value: Any, path: Path, line: int | None) -> Split | None:
    """Read a split name (train/dev/test/unassigned and common synonyms); blank means None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().lower() in _SPLITS:
        return _SPLITS[value.strip().lower()]
    raise InputError(path, line, f"unknown split {value!r}: use train, dev, test or leave it empty")


def kind(value: Any) -> str:
    """Name a JSON value's type in plain words for error messages."""
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def json_error(path: Path, exc: Exception, first_line: int = 1) -> InputError:
    """Turn a JSON parsing failure into an InputError; ``first_line`` is where the JSON began."""
    if isinstance(exc, json.JSONDecodeError):
        return InputError(
            path,
            exc.lineno + first_line - 1,
            f"column {exc.colno}: broken JSON ({exc.msg}); the file may be truncated or "
            "damaged by hand editing",
        )
    if isinstance(exc, RecursionError):
        return InputError(path, first_line, "the JSON is nested too deeply to read")
    return InputError(path, first_line, f"broken JSON ({exc})")


def loads_json(text: str, path: Path, first_line: int = 1) -> Any:
    """json.loads that raises InputError instead (and rejects NaN/Infinity)."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise json_error(path, exc, first_line) from None


DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class _KeepLeadingBom:
    """Writes a UTF-8 BOM before text that itself starts with U+FEFF, which a reader's BOM
    stripping (utf-8-sig) would otherwise eat."""

    def __init__(self, handle: TextSink) -> None:
        self._handle = handle
        self._started = False

    def write(self, text: str, /) -> int:
        if not self._started and text:
            self._started = True
            if text.startswith("\ufeff"):
                self._handle.write("\ufeff")
        return self._handle.write(text)


@contextmanager
def atomic_output(path: Path, *, encoding: str = "utf-8") -> Iterator[TextSink]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically,
    on any error it is removed and ``path`` is left untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        # os.open applies the umask, unlike mkstemp's fixed 0600.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write here: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            yield _KeepLeadingBom(handle) if encoding == "utf-8" else handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ExportError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise


def record_name(index: int, external_id: str | None) -> str:
    """How an export error names a document."""
    return f"document {index + 1}" + (f" (id {external_id})" if external_id else "")


def check_no_nul(text: str, index: int, record: DocumentRecord) -> None:
    """Refuse a NUL character: the readers take a file holding one for binary junk."""
    if "\x00" in text:
        raise ExportError(
            f"{record_name(index, record.external_id)} holds a NUL character (at "
            f"{text.index(chr(0))}), which a text file cannot carry; export as jsonl instead"
        )


def export_id(record: DocumentRecord) -> str | None:
    """The id written for a record: its external id, else its store id."""
    if record.external_id:
        return record.external_id
    return str(record.doc_id) if record.doc_id is not None else None
