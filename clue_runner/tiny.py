"""`clue tiny-model`: a randomly initialised small BERT and its tokenizer, saved like any hub checkpoint.

The generated vocab is laid out like bert-base-chinese ([PAD], [unused1..99], [UNK], [CLS], [SEP], [MASK], then
single characters), so special-token ids and `[unused1]` (CHID's blank marker) sit where real checkpoints put them.
"""

from __future__ import annotations

from pathlib import Path

SPECIALS = ["[PAD]", *[f"[unused{i}]" for i in range(1, 100)], "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# Printable ASCII, common CJK punctuation, then the CJK block from U+4E00: enough for invented test text.
_ASCII = [chr(c) for c in range(33, 127)]
_PUNCT = list("，。！？；：、“”‘’（）《》「」『』【】—…·～－")
_WORDPIECES = [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"]


def generated_vocab(n_cjk: int = 0x9FA5 - 0x4E00 + 1) -> list[str]:
    """A bert-base-chinese-like vocab: specials, ASCII, punctuation, `n_cjk` CJK characters (default: the whole basic block, as bert-base-chinese covers it), word pieces."""
    cjk = [chr(0x4E00 + i) for i in range(n_cjk)]
    seen: dict[str, None] = {}
    for token in [*SPECIALS, *_ASCII, *_PUNCT, *cjk, *_WORDPIECES]:
        seen.setdefault(token, None)
    return list(seen)


def _read_vocab(path: Path) -> list[str]:
    tokens = path.read_text(encoding="utf-8").splitlines()
    if not tokens or "[CLS]" not in tokens or "[SEP]" not in tokens:
        from clue_runner.errors import ClueError

        raise ClueError(f"{path}: not a BERT vocab.txt (needs one token per line, with [CLS] and [SEP])")
    return tokens


def write_tiny_model(
    out_dir: str | Path,
    vocab_file: str | Path | None = None,
    layers: int = 2,
    hidden: int = 64,
    heads: int = 2,
    seed: int = 0,
    max_positions: int = 512,
) -> Path:
    """Save a random BertModel config + weights and a BertTokenizer into `out_dir`; return the folder."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer
    from transformers.utils import logging as hf_logging

    from clue_runner.errors import ClueError

    if hidden % heads:
        raise ClueError(f"--hidden {hidden} must be divisible by --heads {heads}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokens = _read_vocab(Path(vocab_file)) if vocab_file else generated_vocab()
    vocab_path = out / "vocab.txt"
    vocab_path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab=str(vocab_path), do_lower_case=True)
    tokenizer.model_max_length = max_positions
    config = BertConfig(
        vocab_size=len(tokens),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 4,
        max_position_embeddings=max_positions,
        type_vocab_size=2,
        pad_token_id=tokens.index("[PAD]"),
    )
    torch.manual_seed(seed)
    # A masked-LM checkpoint, like the hub's: task heads are freshly initialised on top of its encoder.
    model = BertForMaskedLM(config)
    hf_logging.disable_progress_bar()  # a "Writing model shards" bar for one small file says nothing
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
