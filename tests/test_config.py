"""Config layering: precedence, strict keys with suggestions, types, duplicate keys, task-only knobs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clue_runner import config
from clue_runner.config import RunConfig
from clue_runner.errors import ClueError
from clue_runner.registry import task_names


def test_base_yaml_matches_dataclasses() -> None:
    tree = config.base_config()
    cfg = config.build(tree)
    assert isinstance(cfg, RunConfig)
    assert set(tree) == {"seed", "model", "train", "data", "eval", "output", "task"}
    assert set(tree["train"]) == set(config.TrainConfig.__dataclass_fields__)
    assert set(tree["data"]) == set(config.DataConfig.__dataclass_fields__)
    assert set(tree["output"]) == set(config.OutputConfig.__dataclass_fields__)


def test_run_lifecycle_keys_are_checked() -> None:
    cfg = config.load("tnews")
    assert (cfg.train.save_every, cfg.train.keep_checkpoints, cfg.train.early_stop) == (None, 1, None)
    assert cfg.output.save_model == "best"
    assert config.load("tnews", sets=["train.save_every=0", "output.save_model=none"]).train.save_every == 0
    for bad, message in (
        ("train.keep_checkpoints=0", "keep_checkpoints must be at least 1"),
        ("train.save_every=-1", "save_every must be at least 0"),
        ("train.early_stop=0", "early_stop must be at least 1"),
        ("output.save_model=last", "output.save_model must be one of best, none"),
    ):
        with pytest.raises(ClueError, match=message):
            config.load("tnews", sets=[bad])


def test_required_keys_exist() -> None:
    tree = config.base_config()
    for dotted in (
        "seed",
        "train.epochs",
        "train.max_steps",
        "train.batch_size",
        "train.lr",
        "train.warmup_ratio",
        "train.weight_decay",
        "train.grad_accum",
        "train.max_grad_norm",
        "train.precision",
        "train.eval_every",
        "data.max_len",
        "eval.batch_size",
        "task",
    ):
        node = tree
        for part in dotted.split("."):
            assert part in node, dotted
            node = node[part]


def test_precedence(tmp_path: Path) -> None:
    base = config.load(None)
    task = config.load("tnews")
    assert task.train.lr != base.train.lr  # the task file changes it
    override = tmp_path / "o.yaml"
    override.write_text("train:\n  lr: 1.0e-4\n  epochs: 7\n")
    second = tmp_path / "p.yaml"
    second.write_text("train:\n  epochs: 9\n")
    cfg = config.load("tnews", [override, second], ["train.lr=3e-5"], {"seed": 7, "model": "rbt3"})
    assert cfg.train.lr == pytest.approx(3e-5)  # --set beats files
    assert cfg.train.epochs == 9  # later file beats earlier
    assert (cfg.seed, cfg.model) == (7, "rbt3")  # flags beat everything


def test_unknown_key_suggests() -> None:
    with pytest.raises(ClueError, match=r"unknown config key 'train\.lrr'.*did you mean 'train\.lr'"):
        config.load("tnews", sets=["train.lrr=1"])


def test_a_config_file_error_names_its_line(tmp_path: Path) -> None:
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text("train:\n  lr: 1.0e-3\n  batchsize: 4\n")
    with pytest.raises(ClueError, match=r"bad\.yaml:3: unknown config key 'train\.batchsize'"):
        config.load("tnews", [bad_key])
    bad_type = tmp_path / "type.yaml"
    bad_type.write_text("train:\n  lr: abc\n")
    with pytest.raises(ClueError, match=r"type\.yaml:2: train\.lr must be a float"):
        config.load("tnews", [bad_type])
    not_utf8 = tmp_path / "gbk.yaml"
    not_utf8.write_bytes("train:\n  lr: 1.0e-3 # 学习率\n".encode("gbk"))
    with pytest.raises(ClueError, match=r"gbk\.yaml: not UTF-8 text"):
        config.load("tnews", [not_utf8])


def test_type_mismatch_is_refused() -> None:
    with pytest.raises(ClueError, match="train.epochs must be a int"):
        config.load("tnews", sets=["train.epochs=three"])
    with pytest.raises(ClueError, match="train.group_by_length must be a bool"):
        config.load("tnews", sets=["train.group_by_length=5"])


def test_yaml_floats_without_dot_are_parsed() -> None:
    # PyYAML reads "1e-5" as a string; the base value's type (float) decides.
    assert config.load(None, sets=["train.lr=1e-5"]).train.lr == pytest.approx(1e-5)


def test_set_splits_on_first_equals_only() -> None:
    keys, value = config.parse_set("task.keyword_joiner==")
    assert keys == ["task", "keyword_joiner"] and value == "="


def test_nullable_keys_accept_values() -> None:
    cfg = config.load(None, sets=["train.max_steps=6", "train.eval_every=50"])
    assert (cfg.train.max_steps, cfg.train.eval_every) == (6, 50)
    assert config.load(None, sets=["train.max_steps=null"]).train.max_steps is None


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("train:\n  lr: 1.0e-5\n  lr: 2.0e-5\n")
    with pytest.raises(ClueError, match=r"dup.yaml:3: duplicate key 'lr'"):
        config.load_yaml(path)


def test_value_checks() -> None:
    with pytest.raises(ClueError, match="train.precision"):
        config.load(None, sets=["train.precision=fp8"])
    with pytest.raises(ClueError, match="train.batch_size must be at least 1"):
        config.load(None, sets=["train.batch_size=0"])


def test_task_knobs_only_where_declared() -> None:
    assert config.load("tnews").task["segment_ids"] == "zero"
    with pytest.raises(ClueError, match="unknown config key 'task.doc_stride'"):
        config.load("tnews", sets=["task.doc_stride=64"])


@pytest.mark.parametrize("task", task_names())
def test_every_task_config_loads(task: str) -> None:
    cfg = config.load(task)
    assert cfg.data.max_len >= 32
    assert config.to_yaml(config.merged_dict(task)).startswith("seed:")


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("train.max_steps=abc", "train.max_steps must be int or null, got 'abc'"),
        ("train.epochs=null", "train.epochs must be int, got None"),
        ("data.max_train=foo", "data.max_train must be int or null"),
        ("train.dropout=high", "train.dropout must be float or null"),
        ("seed=null", "seed must be int"),
        ("data.max_train=-5", "data.max_train must be at least 1"),
        ("train.warmup_ratio=2", "train.warmup_ratio must be at least 0 and at most 1"),
        ("train.lr=0", "train.lr must be above 0"),
    ],
)
def test_values_of_nullable_keys_are_checked(assignment: str, message: str) -> None:
    with pytest.raises(ClueError, match=re.escape(message)):
        config.load("tnews", sets=[assignment])


def test_short_repr_never_builds_the_whole_text() -> None:
    leaf = ["lol"] * 10
    for _ in range(12):  # 10**13 leaves by reference: a full repr would never finish
        leaf = [leaf] * 10
    text = config.short_repr(leaf)
    assert len(text) <= 80 and text.startswith("[[")


def test_yaml_11_words_are_text_and_booleans_accept_them(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  precision: off\n  group_by_length: no\n", encoding="utf-8")
    assert config.load_yaml(path) == {"train": {"precision": "off", "group_by_length": "no"}}
    cfg = config.load("tnews", [path])
    assert (cfg.train.precision, cfg.train.group_by_length) == ("no", False)
    assert config.load("tnews", sets=["train.group_by_length=true"]).train.group_by_length is True


@pytest.mark.parametrize(
    "key", ["lr", "warmup_ratio", "dropout", "adam_eps", "weight_decay", "max_grad_norm"]
)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "nan"])
def test_non_finite_floats_refused(key: str, value: str) -> None:
    with pytest.raises(ClueError, match=f"train.{key} must be a finite number"):
        config.load("tnews", sets=[f"train.{key}={value}"])


def test_seed_range() -> None:
    assert config.load("tnews", overrides={"seed": 2**32 - 1}).seed == 2**32 - 1
    for seed in (-1, 2**32):
        with pytest.raises(ClueError, match="seed must be at least 0 and at most 4294967295"):
            config.load("tnews", overrides={"seed": seed})
