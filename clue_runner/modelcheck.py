"""Checks on a model before any run folder exists: a local folder's config, weights and tokenizer files, and
whether the tokenizer covers the task's text.

A broken model folder would otherwise fail after the run folder was created (missing weights, a size mismatch)
or, worse, not fail at all: a folder without tokenizer files loads as a 5-token vocabulary and trains on
`[UNK]`s. Hub ids are fetched and checked by the hub client; their tokenizers still get the coverage check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.errors import ClueError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Example, Task

# The files a tokenizer can be built from (fast tokenizer, WordPiece, SentencePiece, BPE).
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
    "vocab.json",
)
SAFETENSORS_INDEX = "model.safetensors.index.json"
OTHER_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")

# Above this share of [UNK] among a data sample's tokens the tokenizer does not fit the task's language: a
# Chinese BERT vocab leaves well under 1% of CLUE text unknown, a wrong or empty vocab most of it.
UNK_LIMIT = 0.10
UNK_SAMPLE = 200  # examples encoded for the estimate


def check_model_folder(resolved: str) -> None:
    """For a local folder: config.json loads, the weights are there, readable and of the shapes the config
    implies, and tokenizer files exist. Raises ClueError naming the file; hub ids are left to the hub client."""
    folder = Path(resolved)
    if not folder.is_dir():
        return
    config = _load_config(folder)
    _check_weights(folder, config)
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ClueError(
            f"{folder}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); copy the checkpoint's "
            "tokenizer into the folder (without one every character would be [UNK])"
        )


def _load_config(folder: Path) -> Any:
    from transformers import AutoConfig

    path = folder / "config.json"
    if not path.is_file():
        raise ClueError(f"{folder}: no config.json (is this a Hugging Face model folder?)")
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ClueError(f"{path}{line}: not valid JSON ({_first_line(exc)})") from None
    # transformers raises ValueError, KeyError, TypeError ... for a config it cannot use.
    try:
        return AutoConfig.from_pretrained(str(folder))
    except Exception as exc:
        raise ClueError(f"{path}: not a usable model config: {_first_line(exc)}") from None


def _safetensors_files(folder: Path) -> list[Path]:
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    index = folder / SAFETENSORS_INDEX
    if not index.is_file():
        return []
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ClueError(f"{index}: not a safetensors index ({_first_line(exc)})") from None
    for name in names:
        if not isinstance(name, str) or Path(name).name != name:
            raise ClueError(f"{index}: shard name {name!r} is not a file name in the folder")
        if not (folder / name).is_file():
            raise ClueError(f"{index}: shard {name} is missing")
    return [folder / name for name in names]


def _check_weights(folder: Path, config: Any) -> None:
    files = _safetensors_files(folder)
    if not files:
        if any((folder / name).is_file() for name in OTHER_WEIGHTS):
            return  # pickle-based weights: transformers loads them with weights_only; not inspected here
        raise ClueError(f"{folder}: no weights (model.safetensors, {SAFETENSORS_INDEX} or pytorch_model.bin)")
    base, expected = _expected_shapes(config)
    prefix = f"{base}."
    for path in files:
        for key, shape in _header_shapes(path):
            want = expected.get(key[len(prefix) :] if key.startswith(prefix) else key)
            if want is not None and list(want) != list(shape):
                raise ClueError(
                    f"{path}: {key} has shape {list(shape)} but {folder / 'config.json'} implies {list(want)} "
                    "(config and weights are from different models?)"
                )


def _header_shapes(path: Path) -> Iterator[tuple[str, list[int]]]:
    """(name, shape) of every tensor, from the header alone; a truncated or foreign file is refused."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            shapes = [(key, handle.get_slice(key).get_shape()) for key in handle.keys()]  # noqa: SIM118
    except Exception as exc:  # SafetensorError (truncated, random bytes), OSError
        raise ClueError(
            f"{path}: not a readable safetensors file, truncated or damaged ({_first_line(exc)})"
        ) from None
    yield from shapes


def _expected_shapes(config: Any) -> tuple[str, dict[str, Sequence[int]]]:
    """The encoder's weight-name prefix in task checkpoints ("bert") and the parameter shapes the config
    describes, from the model built on the meta device (no memory, no initialisation)."""
    import torch
    from transformers import AutoModel

    try:
        with torch.device("meta"):
            model = AutoModel.from_config(config)
    except Exception:  # an architecture AutoModel does not know: its shapes are checked when it loads
        return "", {}
    shapes: dict[str, Sequence[int]] = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    return str(getattr(model, "base_model_prefix", "")), shapes


def _first_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:200] + ("..." if len(text) > 200 else "")


def load_tokenizer_checked(load: Any, resolved: str) -> PreTrainedTokenizerBase:
    """Call `load()` (a tokenizer loader); any failure with a local folder becomes one line naming it (for a hub
    id, an OSError is the hub client's and is left to the caller, which adds advice on working offline)."""
    try:
        return load()
    except ClueError:
        raise
    except OSError as exc:
        if not Path(resolved).is_dir():
            raise
        raise ClueError(f"{resolved}: the tokenizer does not load: {_first_line(exc)}") from None
    except Exception as exc:  # tokenizers raises Exception, KeyError, ValueError ... for a damaged file
        raise ClueError(
            f"{resolved}: the tokenizer does not load: {type(exc).__name__}: {_first_line(exc)}"
        ) from None


def unk_rate(
    task: Task, examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
) -> tuple[float, int]:
    """(share of [UNK] among the non-special tokens, tokens counted) for up to UNK_SAMPLE examples."""
    unk = tokenizer.unk_token_id
    if unk is None or not examples:
        return 0.0, 0
    special = set(tokenizer.all_special_ids) - {unk}
    features = task.encode(list(examples[:UNK_SAMPLE]), tokenizer, cfg)
    total = unknown = 0
    for row in features.rows:
        for token in _flat(row["input_ids"]):
            if token not in special:
                total += 1
                unknown += token == unk
    return (unknown / total if total else 0.0), total


def _flat(ids: Any) -> Iterator[int]:
    """The token ids of a row: a list, a list of lists (one per choice) or an array."""
    import numpy as np

    if isinstance(ids, np.ndarray):
        yield from ids.ravel().tolist()
        return
    for item in ids:
        if isinstance(item, (list, tuple, np.ndarray)):
            yield from _flat(item)
        else:
            yield int(item)


def coverage_problem(
    task: Task, examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig, model: str
) -> str | None:
    """A sentence saying the tokenizer does not cover the task's text, or None when it does."""
    rate, total = unk_rate(task, examples, tokenizer, cfg)
    if rate <= UNK_LIMIT:
        return None
    return (
        f"the tokenizer of {model} maps {rate:.0%} of {total} tokens of {min(len(examples), UNK_SAMPLE)} "
        f"{task.name} examples to [UNK] (at most {UNK_LIMIT:.0%} expected; vocab size {len(tokenizer)}): "
        "it does not cover this text; use a Chinese checkpoint or its own tokenizer files"
    )
