"""Recipes as data: configs/recipes/*.yaml, the recipe layer's place in the precedence, and what runs record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from clue_runner import config as config_mod
from clue_runner import loop, recipes
from clue_runner.errors import ClueError
from clue_runner.registry import task_names

ROOT = Path(__file__).parent.parent


def test_config_shows_the_per_model_paddlenlp_cell_and_its_source(clue_cli: Any) -> None:
    done = clue_cli("config", "tnews", "--model", "roberta-wwm-ext")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  lr: 3.0e-05  # recipe paddlenlp, roberta-wwm-ext row" in lines
    assert "  batch_size: 64  # recipe paddlenlp, roberta-wwm-ext row" in lines
    assert "  epochs: 3  # recipe paddlenlp" in lines
    assert "model: roberta-wwm-ext  # --model" in lines
    plain = yaml.safe_load(done.stdout)  # the comments keep it valid YAML
    assert plain["train"]["lr"] == 3e-5 and plain["train"]["batch_size"] == 64


def test_config_bojone_recipe(clue_cli: Any) -> None:
    done = clue_cli("config", "tnews", "--model", "roberta-wwm-ext", "--recipe", "bojone", "--plain")
    assert done.returncode == 0, done.stderr
    train = yaml.safe_load(done.stdout)["train"]
    assert (train["optimizer"], train["lr"], train["batch_size"], train["epochs"]) == (
        "adafactor",
        5e-4,
        32,
        10,
    )
    assert train["schedule"] == "constant" and train["warmup_ratio"] == 0.0
    cmrc = yaml.safe_load(clue_cli("config", "cmrc2018", "--recipe", "bojone", "--plain").stdout)
    assert (cmrc["train"]["batch_size"], cmrc["train"]["grad_accum"], cmrc["data"]["max_len"]) == (16, 2, 512)


def test_model_without_a_row_falls_back_with_a_note(tmp_path: Path, clue_cli: Any) -> None:
    done = clue_cli("config", "csl", "--model", str(tmp_path))
    assert done.returncode == 0, done.stderr
    note = " ".join(done.stderr.split())
    assert "no csl row for model" in note and "using the bert-base-chinese row" in note
    train = yaml.safe_load(done.stdout)["train"]
    # PaddleNLP's CSL cell for BERT-Base is batch 16 reached as 8 x 2 accumulation steps.
    assert (train["lr"], train["batch_size"], train["grad_accum"]) == (1e-5, 8, 2)
    # A hub id of a model in the table finds its row.
    hub = config_mod.merged_dict("cluewsc2020", overrides={"model": "hfl/rbt3"}, recipe="paddlenlp")
    assert hub["train"]["dropout"] == 0.0 and hub["train"]["lr"] == 3e-5


def test_precedence_recipe_between_task_and_config(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("train:\n  lr: 7.0e-5\n")
    tree, sources, layer = config_mod.merged_with_sources(
        "tnews", [extra], ["train.batch_size=8"], {"model": "roberta-wwm-ext", "seed": 3}, "paddlenlp"
    )
    assert (tree["train"]["lr"], tree["train"]["batch_size"], tree["seed"]) == (7e-5, 8, 3)
    assert sources["train.lr"] == str(extra) and sources["train.batch_size"] == "--set train.batch_size=8"
    assert sources["seed"] == "--seed" and sources["train.epochs"] == "recipe paddlenlp"
    assert sources["task.segment_ids"] == "configs/tasks/tnews.yaml" and sources["train.precision"] == "base"
    assert layer is not None and layer.model_row == "roberta-wwm-ext" and layer.note is None
    # The model picked by --config decides the row, not the default model.
    picked = tmp_path / "model.yaml"
    picked.write_text("model: rbt3\n")
    assert config_mod.merged_dict("afqmc", [picked], recipe="paddlenlp")["train"]["batch_size"] == 64


def test_every_recipe_builds_for_every_task_and_model() -> None:
    assert recipes.recipe_names() == ["bojone", "clue", "paddlenlp"]
    for name in recipes.recipe_names():
        data = recipes.load_recipe(name)
        models = [*(data.get("models") or {}), "some/other-model"]
        for task in task_names():
            for model in models:
                config_mod.build(config_mod.merged_dict(task, overrides={"model": model}, recipe=name))
    with pytest.raises(ClueError, match="unknown recipe 'padlenlp'.*did you mean 'paddlenlp'"):
        recipes.recipe_layer("padlenlp", "tnews", None)


def test_recipes_ship_in_the_package_and_the_top_level_folder(clue_cli: Any) -> None:
    top = sorted(p.name for p in (ROOT / "configs" / "recipes").glob("*.yaml"))
    assert top == [f"{n}.yaml" for n in recipes.recipe_names()]
    for name in top:
        packaged = (ROOT / "clue_runner" / "configs" / "recipes" / name).read_bytes()
        assert packaged == (ROOT / "configs" / "recipes" / name).read_bytes()
    listed = clue_cli("recipes", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["paddlenlp"]["default"] and "roberta-wwm-ext" in rows["paddlenlp"]["models"]
    assert rows["bojone"]["models"] == []


def test_bad_optimizer_and_schedule_are_refused() -> None:
    with pytest.raises(ClueError, match="train.optimizer must be one of adamw, adafactor"):
        config_mod.load("tnews", sets=["train.optimizer=sgd"])
    with pytest.raises(ClueError, match="train.schedule must be one of linear, constant"):
        config_mod.load("tnews", sets=["train.schedule=cosine"])


def test_adafactor_and_constant_schedule() -> None:
    from transformers.optimization import Adafactor

    cfg = config_mod.load("tnews", overrides={"model": "x/y"}, recipe="bojone")
    model = torch.nn.Linear(4, 2)
    optimizer = loop._adafactor(model, cfg)
    assert isinstance(optimizer, Adafactor)
    group = optimizer.param_groups[0]
    assert (group["lr"], group["beta1"], group["relative_step"], group["scale_parameter"]) == (
        5e-4,
        0.9,
        False,
        True,
    )
    schedule = loop._linear_schedule(optimizer, warmup=0, total=10, constant=True)
    for _ in range(9):
        optimizer.step()
        schedule.step()
    assert schedule.get_last_lr()[0] == pytest.approx(5e-4)
    sgd = torch.optim.SGD(model.parameters(), lr=1.0)
    decaying = loop._linear_schedule(sgd, warmup=0, total=10)
    for _ in range(5):
        sgd.step()
        decaying.step()
    assert decaying.get_last_lr()[0] == pytest.approx(0.5)


def test_run_records_recipe_and_sources(tmp_path: Path, tiny_model: Path, task_data, clue_cli: Any) -> None:
    data = task_data("tnews")
    out = tmp_path / "run"
    done = clue_cli(
        "run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "--output-dir", str(out),
        "--recipe", "bojone", "--set", "train.max_steps=2", "--set", "train.batch_size=4", "--offline", "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["recipe"] == {"name": "bojone", "model_row": None, "note": None}
    sources = results["config_sources"]
    assert sources["train.optimizer"] == "recipe bojone" and sources["train.lr"] == "recipe bojone"
    assert sources["train.max_steps"] == "--set train.max_steps=2" and sources["model"] == "--model"
    assert results["config"]["train"]["optimizer"] == "adafactor"


def test_own_recipe_file(tmp_path: Path, clue_cli: Any) -> None:
    """A copy of a packaged recipe, edited, is passed by path; a key the config lacks is refused naming it."""
    mine = tmp_path / "mine.yaml"
    text = (ROOT / "configs" / "recipes" / "paddlenlp.yaml").read_text(encoding="utf-8")
    mine.write_text(
        text.replace(
            "tnews:       {train: {lr: 3.0e-5, batch_size: 64}}",
            "tnews: {train: {lr: 4.0e-5, batch_size: 48}}",
        )
    )
    done = clue_cli("config", "tnews", "--model", "roberta-wwm-ext", "--recipe", str(mine))
    assert done.returncode == 0, done.stderr
    assert f"  lr: 4.0e-05  # recipe {mine}, roberta-wwm-ext row" in done.stdout.splitlines()
    assert f"  batch_size: 48  # recipe {mine}, roberta-wwm-ext row" in done.stdout.splitlines()
    mine.write_text(text.replace("max_grad_norm: 1.0", "max_grad_nrom: 1.0"))
    bad = clue_cli("config", "tnews", "--recipe", str(mine))
    assert (
        bad.returncode == 2
        and "unknown config key 'train.max_grad_nrom'" in bad.stderr
        and str(mine) in bad.stderr
    )
    with pytest.raises(ClueError, match="config file not found"):
        recipes.load_recipe(str(tmp_path / "missing.yaml"))
