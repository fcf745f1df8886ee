"""Turn documents into model inputs: windows of sub-word ids with their labels.

Every document is tokenized whole (no truncation) and then cut into overlapping windows
(:mod:`core.engine.windows`), so no text is ever dropped. Works with any BERT-style fast
tokenizer (``[CLS] a [SEP]`` / ``[CLS] q [SEP] p [SEP]``). No torch here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.engine.alignment import IGNORE_INDEX, Word, first_subword_positions
from core.engine.windows import window_bounds

# A question longer than this (in sub-words) is shortened, with a warning.
MAX_QUESTION_TOKENS = 64


@dataclass
class Feature:
    """One model input (a window) and its training targets.

    ``example`` indexes the document (NER, classes) or question (QA) it belongs to;
    ``window`` is ``[start, end)`` in the example's content tokens; content token ``g``
    sits at input position ``content_offset + g - window[0]``.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    example: int
    window: tuple[int, int]
    content_offset: int
    labels: list[int] | None = None  # NER: per input token, -100 where ignored
    label: int | list[float] | None = None  # classes: id, or multi-hot for multi-label
    start_position: int = 0  # QA: answer start/end input positions (0 = no answer: CLS)
    end_position: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class NerExample:
    """A document cut into words, with their gold tag ids when known."""

    words: tuple[Word, ...]
    word_strings: list[str]
    tag_ids: list[int] | None = None
    # Filled by encode_ner: global sub-word position of each word's first sub-word.
    first_positions: dict[int, int] = field(default_factory=dict)
    bounds: list[tuple[int, int]] = field(default_factory=list)
    n_tokens: int = 0


@dataclass
class QaExample:
    """One question about a context, with its gold answer in context characters."""

    question: str
    context_index: int  # which tokenized context (shared by its questions)
    answer: tuple[int, int] | None = None  # (start, end) chars; None: no answer / unknown
    bounds: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class TokenizedContext:
    """A QA context tokenized once: its sub-word ids and their character offsets."""

    ids: list[int]
    offsets: list[tuple[int, int]]


def _special_ids(tokenizer: Any) -> tuple[int, int]:
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise ValueError(
            "the tokenizer has no [CLS]/[SEP] tokens: only BERT-style encoders are supported"
        )
    return int(cls_id), int(sep_id)


def encode_ner(
    tokenizer: Any,
    examples: Sequence[NerExample],
    *,
    max_length: int,
    stride: int,
) -> list[Feature]:
    """Windows of every document, with per-sub-word labels on each word's first sub-word.

    A word whose first sub-word lies in the overlap of two windows is labelled in both.
    Fills ``first_positions``, ``bounds`` and ``n_tokens`` of each example.
    """
    cls_id, sep_id = _special_ids(tokenizer)
    size = max_length - 2
    features: list[Feature] = []
    nonempty = [i for i, ex in enumerate(examples) if ex.word_strings]
    encoded: dict[int, tuple[list[int], list[int | None]]] = {}
    if nonempty:
        enc = tokenizer(
            [examples[i].word_strings for i in nonempty],
            is_split_into_words=True,
            add_special_tokens=False,
            truncation=False,
            verbose=False,  # long documents are windowed below, never truncated
        )
        for row, i in enumerate(nonempty):
            encoded[i] = (list(enc["input_ids"][row]), list(enc.word_ids(row)))
    for i, ex in enumerate(examples):
        ids, word_ids = encoded.get(i, ([], []))
        ex.first_positions = first_subword_positions(word_ids)
        ex.n_tokens = len(ids)
        ex.bounds = window_bounds(len(ids), size, min(stride, size - 1))
        firsts = sorted((pos, wid) for wid, pos in ex.first_positions.items())
        for start, end in ex.bounds:
            labels: list[int] | None = None
            if ex.tag_ids is not None:
                labels = [IGNORE_INDEX] * (end - start + 2)
                for pos, wid in firsts:
                    if start <= pos < end:
                        labels[1 + pos - start] = ex.tag_ids[wid]
            features.append(
                _single_text_window(ids, start, end, i, cls_id, sep_id, labels=labels)
            )
    return features


def _single_text_window(
    ids: Sequence[int], start: int, end: int, example: int, cls_id: int, sep_id: int,
    **targets: Any,
) -> Feature:
    """``[CLS] ids[start:end] [SEP]`` as one model input of document ``example``."""
    return Feature(
        input_ids=[cls_id, *ids[start:end], sep_id],
        token_type_ids=[0] * (end - start + 2),
        example=example,
        window=(start, end),
        content_offset=1,
        **targets,
    )


def encode_texts(
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    stride: int,
    labels: Sequence[int | list[float]] | None = None,
) -> tuple[list[Feature], list[list[tuple[int, int]]]]:
    """Windows of each text for classification; each window carries its document's label.

    Returns the features and, per text, its window bounds.
    """
    cls_id, sep_id = _special_ids(tokenizer)
    size = max_length - 2
    enc = tokenizer(list(texts), add_special_tokens=False, truncation=False,
                    verbose=False) if texts else None
    features: list[Feature] = []
    all_bounds: list[list[tuple[int, int]]] = []
    for i in range(len(texts)):
        ids = list(enc["input_ids"][i]) if enc is not None else []
        bounds = window_bounds(len(ids), size, min(stride, size - 1))
        all_bounds.append(bounds)
        for start, end in bounds:
            features.append(
                _single_text_window(
                    ids, start, end, i, cls_id, sep_id,
                    label=labels[i] if labels is not None else None,
                )
            )
    return features, all_bounds


def tokenize_contexts(tokenizer: Any, contexts: Sequence[str]) -> list[TokenizedContext]:
    """Sub-word ids and character offsets (into each original context) of QA contexts."""
    if not contexts:
        return []
    enc = tokenizer(
        list(contexts),
        add_special_tokens=False,
        truncation=False,
        return_offsets_mapping=True,
        verbose=False,  # long contexts are windowed, never truncated
    )
    return [
        TokenizedContext(list(enc["input_ids"][i]), [tuple(o) for o in enc["offset_mapping"][i]])
        for i in range(len(contexts))
    ]


def answer_token_span(
    offsets: Sequence[tuple[int, int]], start: int, end: int
) -> tuple[int, int] | None:
    """First and last sub-word (inclusive) overlapping characters ``[start, end)``."""
    first = next((i for i, (s, e) in enumerate(offsets) if e > start and e > s), None)
    last = None
    for i in range(len(offsets) - 1, -1, -1):
        s, e = offsets[i]
        if s < end and e > s:
            last = i
            break
    if first is None or last is None or last < first:
        return None
    return first, last


def encode_qa(
    tokenizer: Any,
    examples: Sequence[QaExample],
    contexts: Sequence[TokenizedContext],
    *,
    max_length: int,
    stride: int,
    with_targets: bool,
    warn: Callable[[str], None] | None = None,
) -> list[Feature]:
    """``[CLS] question [SEP] passage-window [SEP]`` inputs, windows over the passage.

    With ``with_targets``, each window's target is the answer's token span when the whole
    answer lies inside the window, else the [CLS] position (no answer in this window).
    """
    cls_id, sep_id = _special_ids(tokenizer)
    questions = [ex.question for ex in examples]
    q_enc = tokenizer(questions, add_special_tokens=False, truncation=False,
                    verbose=False) if questions else None
    features: list[Feature] = []
    shortened = 0
    for i, ex in enumerate(examples):
        q_ids = list(q_enc["input_ids"][i]) if q_enc is not None else []
        limit = min(MAX_QUESTION_TOKENS, max_length // 2)
        if len(q_ids) > limit:
            q_ids = q_ids[:limit]
            shortened += 1
        ctx = contexts[ex.context_index]
        size = max_length - len(q_ids) - 3
        ex.bounds = window_bounds(len(ctx.ids), size, min(stride, size - 1))
        token_answer = None
        if with_targets and ex.answer is not None:
            token_answer = answer_token_span(ctx.offsets, *ex.answer)
        head = [cls_id, *q_ids, sep_id]
        for start, end in ex.bounds:
            offset = len(head)
            start_pos = end_pos = 0
            if token_answer is not None:
                a, b = token_answer
                if start <= a and b < end:
                    start_pos, end_pos = offset + a - start, offset + b - start
            features.append(
                Feature(
                    input_ids=[*head, *ctx.ids[start:end], sep_id],
                    token_type_ids=[0] * len(head) + [1] * (end - start + 1),
                    example=i,
                    window=(start, end),
                    content_offset=offset,
                    start_position=start_pos,
                    end_position=end_pos,
                )
            )
    if shortened and warn is not None:
        warn(
            f"{shortened} question(s) longer than {min(MAX_QUESTION_TOKENS, max_length // 2)} "
            "sub-words were shortened to that length (the passage is never cut)"
        )
    return features
