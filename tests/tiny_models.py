"""A tiny random BERT (2 layers, hidden 32) and small synthetic corpora with trivially
learnable patterns, shared by the engine, active-learning and app tests (trains in seconds)."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from pathlib import Path

from core.types import Answer, DocumentRecord, EntitySpan, Question

DRUGS = ["zorblax", "quintarin", "melovate", "drapsil"]
FILLER = (
    "the patient was given daily and reported no pain after dose in clinic today with "
    "mild fever cough notes follow up week visit stable who what where when why how "
    "which is are did does answer question doctor nurse"
).split()
GOOD = ["great", "lovely", "happy", "good"]
BAD = ["awful", "terrible", "sad", "bad"]


def tiny_vocab(words: Sequence[str]) -> list[str]:
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation)
    return special + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + sorted(
        set(words)
    )


def build_tiny_bert(model_dir: Path, words: Sequence[str] = (), dropout: float = 0.1) -> Path:
    """Write a tiny random BERT encoder with a fast WordPiece tokenizer to ``model_dir``
    (``dropout``: its hidden and attention dropout, BERT's 0.1 by default)."""
    import torch
    import transformers

    vocab = tiny_vocab([*DRUGS, *FILLER, *GOOD, *BAD, *words])
    tokenizer = transformers.BertTokenizer(
        vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True
    )
    assert tokenizer.is_fast and len(tokenizer) == len(vocab)
    tokenizer.save_pretrained(model_dir)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, type_vocab_size=2,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(model_dir)
    return model_dir


def build_tiny_roberta(model_dir: Path, words: Sequence[str] = ()) -> Path:
    """A tiny random RoBERTa with RoBERTa's special-token layout (``<s> a </s>``,
    ``<s> q </s></s> p </s>``, one token type) over a WordPiece vocabulary: tests that the
    engine takes the layout from the tokenizer instead of assuming BERT's."""
    import torch
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = specials + tiny_vocab([*DRUGS, *FILLER, *GOOD, *BAD, *words])[5:]
    ids = {token: i for i, token in enumerate(vocab)}
    tok = Tokenizer(models.WordPiece(ids, unk_token="<unk>"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])],
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )
    tokenizer.save_pretrained(model_dir)
    config = transformers.RobertaConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=132, type_vocab_size=1,
        pad_token_id=ids["<pad>"], bos_token_id=ids["<s>"], eos_token_id=ids["</s>"],
    )
    torch.manual_seed(0)
    transformers.RobertaModel(config).save_pretrained(model_dir)
    return model_dir


def _drug_sentence(rng: random.Random, filler: Sequence[str], length: int) -> tuple[str, int, str]:
    words = [rng.choice(filler) for _ in range(length)]
    k = rng.randrange(length)
    words[k] = rng.choice(DRUGS)
    return " ".join(words), sum(len(w) + 1 for w in words[:k]), words[k]


def make_ner_docs(
    n: int, seed: int = 0, length: int | tuple[int, int] = 8, filler: Sequence[str] = FILLER
) -> list[DocumentRecord]:
    """Sentences with one drug name each, labelled DRUG. ``length``: words per sentence,
    or a (low, high) range drawn per sentence."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        size = length if isinstance(length, int) else rng.randint(*length)
        text, start, drug = _drug_sentence(rng, filler, size)
        docs.append(DocumentRecord(text=text, external_id=f"ner-{seed}-{i}",
                                   spans=(EntitySpan(start, start + len(drug), "DRUG"),)))
    return docs


def make_class_docs(
    n: int, seed: int = 0, sentiment_words: int = 5, filler: Sequence[str] = FILLER
) -> list[DocumentRecord]:
    """Mostly sentiment words, so that even a tiny random encoder learns pos/neg in seconds."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        positive = i % 2 == 0
        words = [rng.choice(filler) for _ in range(2)]
        words += [rng.choice(GOOD if positive else BAD) for _ in range(sentiment_words)]
        rng.shuffle(words)
        docs.append(DocumentRecord(text=" ".join(words), external_id=f"cls-{seed}-{i}",
                                   classes=("pos" if positive else "neg",)))
    return docs


def make_qa_docs(
    n: int, seed: int = 0, length: int = 10, filler: Sequence[str] = FILLER
) -> list[DocumentRecord]:
    """Contexts holding one drug name; the question asks which drug: the answer is it."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text, start, drug = _drug_sentence(rng, filler, length)
        q = Question("what drug was given", (Answer(start, start + len(drug), drug),))
        docs.append(DocumentRecord(text=text, external_id=f"qa-{seed}-{i}", questions=(q,)))
    return docs
