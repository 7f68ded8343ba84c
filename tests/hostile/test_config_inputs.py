"""Hostile config values and YAML: one error line, exit 2, and no run folder (the config is known before the run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from harness import FIXTURES, Sandbox, assert_clean_error, assert_only_changed


def _run_args(sandbox: Sandbox, model: Path, *extra: str) -> list[str | Path]:
    data = sandbox.root / "data" / "tnews"
    if not data.is_dir():
        shutil.copytree(FIXTURES / "tnews", data)
    return [
        "run",
        "tnews",
        "--model",
        model,
        "--data-dir",
        data,
        "--output-dir",
        sandbox.root / "out",
        *extra,
    ]


@pytest.mark.parametrize(
    ("assignment", "needle"),
    [
        ("train.lr=.nan", "train.lr must be a finite number, got nan"),
        ("train.lr=.inf", "train.lr must be a finite number, got inf"),
        ("train.warmup_ratio=nan", "train.warmup_ratio must be a finite number"),
        ("train.dropout=.nan", "train.dropout must be a finite number"),
        ("train.adam_eps=-.inf", "train.adam_eps must be a finite number"),
        ("train.weight_decay=.nan", "train.weight_decay must be a finite number"),
        ("train.max_grad_norm=.nan", "train.max_grad_norm must be a finite number"),
        ("seed=-1", "seed must be at least 0 and at most 4294967295, got -1"),
        ("seed=4294967296", "seed must be at least 0 and at most 4294967295, got 4294967296"),
    ],
)
def test_bad_numbers_refused(sandbox: Sandbox, assignment: str, needle: str) -> None:
    assert_clean_error(sandbox.clue("config", "tnews", "--set", assignment), 2, needle)


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        (["--set", "train.max_grad_norm=.nan"], "train.max_grad_norm must be a finite number"),
        (["--seed", str(2**32)], "seed must be at least 0"),
    ],
)
def test_bad_numbers_refused_before_the_run_folder(
    sandbox: Sandbox, tiny_model: Path, option: list[str], needle: str
) -> None:
    args = _run_args(sandbox, tiny_model, *option)
    before = sandbox.files()
    assert_clean_error(sandbox.clue(*args), 2, needle)
    assert not (sandbox.root / "out").exists() and not (sandbox.cwd / "runs").exists()
    assert_only_changed(sandbox, before, [])


def test_yaml_11_booleans_for_text_keys(sandbox: Sandbox) -> None:
    for word in ("no", "off"):
        done = sandbox.clue("config", "tnews", "--set", f"train.precision={word}")
        assert done.returncode == 0, done.stderr
        assert "precision: 'no'" in done.stdout
    config = sandbox.root / "c.yaml"
    config.write_text("train:\n  precision: no\n  group_by_length: off\n", encoding="utf-8")
    done = sandbox.clue("config", "tnews", "--config", config)
    assert done.returncode == 0, done.stderr
    assert "precision: 'no'" in done.stdout and "group_by_length: false" in done.stdout


BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
train:
  lr: [*f, *f, *f, *f, *f, *f, *f, *f, *f]
"""


def test_alias_bomb_is_one_short_line_in_bounded_memory(sandbox: Sandbox, tiny_model: Path) -> None:
    bomb = sandbox.root / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    args = _run_args(sandbox, tiny_model, "--config", bomb)
    before = sandbox.files()
    done = sandbox.clue(*args)
    line = assert_clean_error(done, 2, "bomb.yaml:2: YAML aliases (*a) are not allowed")
    assert len(done.stderr) < 400 and len(line) < 300
    assert done.max_rss_mb < 800, done.max_rss_mb  # `run` has torch loaded (~500 MB); the bomb took 1 GB more
    assert_only_changed(sandbox, before, [])
    done = sandbox.clue("config", "tnews", "--config", bomb)
    assert_clean_error(done, 2, "YAML aliases (*a) are not allowed")
    assert done.max_rss_mb < 200, done.max_rss_mb
    done = sandbox.clue("config", "tnews", "--set", "train.lr=[&x [1, 1], *x]")
    assert_clean_error(done, 2, "YAML aliases (*x) are not allowed")


def test_deeply_nested_yaml(sandbox: Sandbox) -> None:
    deep = sandbox.root / "deep.yaml"
    deep.write_text("train:\n  lr: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    done = sandbox.clue("config", "tnews", "--config", deep)
    assert_clean_error(done, 2, "deep.yaml: invalid YAML")


def test_huge_value_is_shown_cut(sandbox: Sandbox) -> None:
    config = sandbox.root / "big.yaml"
    config.write_text("train:\n  lr: [" + ", ".join(["123456789"] * 20_000) + "]\n", encoding="utf-8")
    done = sandbox.clue("config", "tnews", "--config", config)
    line = assert_clean_error(done, 2, "train.lr must be a float")
    assert len(line) < 300
