"""Turn documents into model inputs: windows of sub-word ids with their labels.

Every document is tokenized whole (no truncation) and then cut into overlapping windows
(:mod:`core.engine.windows`), so no text is ever dropped. The special tokens around a
window come from the tokenizer itself (:func:`special_template`): ``[CLS] a [SEP]`` and
``[CLS] q [SEP] p [SEP]`` for BERT, ``<s> a </s>`` and ``<s> q </s></s> p </s>`` for
RoBERTa, and so on for any fast tokenizer whose first token is a [CLS]-like one. No torch.
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
    # NER: per input token, -100 where ignored; the per-label tagger (overlapping entities):
    # per input token one O/B/I id per label, all -100 where ignored.
    labels: list[int] | list[list[int]] | None = None
    label: int | list[float] | None = None  # classes: id, or multi-hot for multi-label
    # Relations: the input's weight in the loss (its class's inverse frequency); None: 1.
    weight: float | None = None
    start_position: int = 0  # QA: answer start/end input positions (0 = no answer: CLS)
    end_position: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class NerExample:
    """A document cut into words, with their gold tag ids when known.

    ``groups`` 0: one BIO tag id per word; K > 0 (the per-label tagger of overlapping
    entities, :mod:`core.tasks.ner`): per word a tuple of K O/B/I ids, one per label.
    """

    words: tuple[Word, ...]
    word_strings: list[str]
    tag_ids: list[int] | list[tuple[int, ...]] | None = None
    groups: int = 0
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


@dataclass(frozen=True)
class SpecialTemplate:
    """The tokenizer's special tokens around one text (``prefix a suffix``) and a pair
    (``prefix a middle b pair_suffix``), with the token type of the pair's second part."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]
    middle: tuple[int, ...]
    pair_suffix: tuple[int, ...]
    second_type: int


def special_template(tokenizer: Any) -> SpecialTemplate:
    """Read the special-token layout off the tokenizer by encoding two probe texts.

    Raises ValueError when the tokenizer does not start its inputs with a special token
    (the classification and no-answer position) or is not a fast tokenizer.
    """
    cached = getattr(tokenizer, "_annotator_template", None)
    if isinstance(cached, SpecialTemplate):
        return cached
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"the tokenizer of {name} is not a fast tokenizer (needed for offsets)")
    single = tokenizer("a", add_special_tokens=True)
    pair = tokenizer("a", "b", add_special_tokens=True)
    seq1, seq2 = single.sequence_ids(0), pair.sequence_ids(0)
    ids1, ids2 = list(single["input_ids"]), list(pair["input_ids"])
    a1 = [i for i, s_ in enumerate(seq1) if s_ == 0]
    a2 = [i for i, s_ in enumerate(seq2) if s_ == 0]
    b2 = [i for i, s_ in enumerate(seq2) if s_ == 1]
    if not a1 or not a2 or not b2 or a1[0] == 0 or a2[0] == 0:
        raise ValueError(
            f"the tokenizer of {name} does not put a [CLS]-like token first: only "
            "BERT-style encoders (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa, ...) are supported"
        )
    types = pair.get("token_type_ids") or [0] * len(ids2)
    template = SpecialTemplate(
        prefix=tuple(ids1[: a1[0]]),
        suffix=tuple(ids1[a1[-1] + 1:]),
        middle=tuple(ids2[a2[-1] + 1: b2[0]]),
        pair_suffix=tuple(ids2[b2[-1] + 1:]),
        second_type=int(types[b2[0]]),
    )
    try:
        tokenizer._annotator_template = template
    except AttributeError:
        pass
    return template


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
    template = special_template(tokenizer)
    size = max_length - len(template.prefix) - len(template.suffix)
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
            labels: list[Any] | None = None
            if ex.tag_ids is not None:
                head = len(template.prefix)
                n = end - start + head + len(template.suffix)
                if ex.groups:
                    labels = [[IGNORE_INDEX] * ex.groups for _ in range(n)]
                    for pos, wid in firsts:
                        if start <= pos < end:
                            labels[head + pos - start] = list(ex.tag_ids[wid])  # type: ignore[arg-type]
                else:
                    labels = [IGNORE_INDEX] * n
                    for pos, wid in firsts:
                        if start <= pos < end:
                            labels[head + pos - start] = ex.tag_ids[wid]
            features.append(_single_text_window(ids, start, end, i, template, labels=labels))
    return features


def _single_text_window(
    ids: Sequence[int], start: int, end: int, example: int, template: SpecialTemplate,
    **targets: Any,
) -> Feature:
    """``[CLS] ids[start:end] [SEP]`` (the tokenizer's own special tokens) as one model
    input of document ``example``."""
    input_ids = [*template.prefix, *ids[start:end], *template.suffix]
    return Feature(
        input_ids=input_ids,
        token_type_ids=[0] * len(input_ids),
        example=example,
        window=(start, end),
        content_offset=len(template.prefix),
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
    template = special_template(tokenizer)
    size = max_length - len(template.prefix) - len(template.suffix)
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
                    ids, start, end, i, template,
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
    """``[CLS] question [SEP] passage-window [SEP]`` inputs (the tokenizer's own pair
    layout, e.g. ``<s> q </s></s> p </s>`` for RoBERTa), windows over the passage.

    With ``with_targets``, each window's target is the answer's token span when the whole
    answer lies inside the window, else the [CLS] position (no answer in this window).
    """
    template = special_template(tokenizer)
    specials = len(template.prefix) + len(template.middle) + len(template.pair_suffix)
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
        size = max_length - len(q_ids) - specials
        ex.bounds = window_bounds(len(ctx.ids), size, min(stride, size - 1))
        token_answer = None
        if with_targets and ex.answer is not None:
            token_answer = answer_token_span(ctx.offsets, *ex.answer)
        head = [*template.prefix, *q_ids, *template.middle]
        tail = list(template.pair_suffix)
        for start, end in ex.bounds:
            offset = len(head)
            start_pos = end_pos = 0
            if token_answer is not None:
                a, b = token_answer
                if start <= a and b < end:
                    start_pos, end_pos = offset + a - start, offset + b - start
            features.append(
                Feature(
                    input_ids=[*head, *ctx.ids[start:end], *tail],
                    token_type_ids=[0] * len(head)
                    + [template.second_type] * (end - start + len(tail)),
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
