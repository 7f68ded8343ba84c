"""Model resolution and loading: short names, hub ids, folders, and checkpoints whose tokenizer is BERT's
although their model type says otherwise (ALBERT-zh, clue/*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clue_runner.errors import ClueError
from clue_runner.modeling import load_tokenizer
from clue_runner.registry import MODELS, needs_bert_tokenizer, resolve_model
from clue_runner.runner import run_task
from clue_runner.tiny import generated_vocab


def test_resolve_model() -> None:
    assert resolve_model("roberta-wwm-ext") == "hfl/chinese-roberta-wwm-ext"
    assert resolve_model("bert-base-chinese") == MODELS["bert-base-chinese"]
    assert resolve_model("someone/some-model") == "someone/some-model"
    with pytest.raises(ClueError, match="did you mean 'macbert-base'"):
        resolve_model("macbert-bas")
    with pytest.raises(ClueError, match="model folder not found"):
        resolve_model("./no/such/folder")


def test_bert_tokenizer_rule() -> None:
    assert needs_bert_tokenizer("clue/roberta_chinese_base", "roberta")
    assert needs_bert_tokenizer("voidful/albert_chinese_tiny", None)
    assert needs_bert_tokenizer("/some/folder", "albert")
    assert not needs_bert_tokenizer("hfl/chinese-roberta-wwm-ext", "bert")


@pytest.fixture(scope="module")
def albert_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ALBERT checkpoint laid out like voidful/albert_chinese_*: config.json (model_type albert), weights and a
    BERT vocab.txt, no sentencepiece model, so AutoTokenizer alone would pick the wrong tokenizer."""
    import torch
    from transformers import AlbertConfig, AlbertForMaskedLM

    out = tmp_path_factory.mktemp("albert-zh")
    vocab = generated_vocab()
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = AlbertConfig(vocab_size=len(vocab), embedding_size=16, hidden_size=32, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)  # fmt: skip
    torch.manual_seed(0)
    AlbertForMaskedLM(config).save_pretrained(out)
    return out


def test_albert_zh_loads_with_bert_tokenizer(albert_zh: Path) -> None:
    tokenizer = load_tokenizer(str(albert_zh))
    assert type(tokenizer).__name__ == "BertTokenizer"
    assert tokenizer.convert_ids_to_tokens(tokenizer("你好")["input_ids"]) == ["[CLS]", "你", "好", "[SEP]"]


def test_albert_zh_runs_a_task(albert_zh: Path, task_data, tmp_path: Path) -> None:
    outcome = run_task("tnews", model=str(albert_zh), data_dir=task_data("tnews"), output_dir=tmp_path / "run",
                       sets=["train.max_steps=2"], progress=False)  # fmt: skip
    assert outcome.status == "completed"
    assert (outcome.run_dir / "best" / "config.json").read_text().count('"albert"') == 1
