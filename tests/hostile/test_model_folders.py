"""Broken model folders are refused up front, naming the file, before any run folder exists; tiny-model and
predict never destroy earlier work without --overwrite."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import FIXTURES, Sandbox, assert_clean_error, assert_only_changed

from clue_runner.errors import ClueError
from clue_runner.runner import run_task


def _drop_model_type(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    del config["model_type"]
    (folder / "config.json").write_text(json.dumps(config))


def _set_config(**values: int) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config.update(values)
        (folder / "config.json").write_text(json.dumps(config))

    return change


def _truncate_weights(folder: Path) -> None:
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


def _remove(*names: str) -> Callable[[Path], None]:
    def remove(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()

    return remove


def _write(name: str, text: str) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    return write


def _vocab_of_specials(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing model_type": (_drop_model_type, "config.json: not a usable model config: Unrecognized model"),
    "config not JSON": (_write("config.json", "{oops"), "config.json:1: not valid JSON"),
    "no config": (_remove("config.json"), "no config.json"),
    "no weights": (_remove("model.safetensors"), "no weights (model.safetensors"),
    "truncated weights": (_truncate_weights, "model.safetensors: not a readable safetensors file"),
    "random weights": (
        _write("model.safetensors", "x" * 5000),
        "model.safetensors: not a readable safetensors",
    ),
    "size mismatch": (_set_config(hidden_size=128, intermediate_size=512), "config.json implies [128]"),
    "vocab size mismatch": (_set_config(vocab_size=100), "implies [100, 64]"),
    "bad tokenizer.json": (
        _write("tokenizer.json", '{"version": "1.0", "model": 42}'),
        "the tokenizer does not load",
    ),
    "no tokenizer files": (
        _remove("tokenizer.json", "vocab.txt", "tokenizer_config.json"),
        "no tokenizer files",
    ),
    "5-token vocab": (_vocab_of_specials, "to [UNK] (at most 10% expected; vocab size 5)"),
}


def _broken_model(tiny_model: Path, where: Path, case: str) -> Path:
    folder = where / "model"
    shutil.copytree(tiny_model, folder)
    BROKEN[case][0](folder)
    return folder


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_model_refused_before_the_run_folder(tmp_path: Path, tiny_model: Path, case: str) -> None:
    model = _broken_model(tiny_model, tmp_path, case)
    out = tmp_path / "out"
    with pytest.raises(ClueError) as caught:
        run_task("tnews", model=str(model), data_dir=FIXTURES / "tnews", output_dir=out, progress=False)
    assert BROKEN[case][1] in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing model_type", "no tokenizer files"])
def test_broken_model_as_the_user_sees_it(sandbox: Sandbox, tiny_model: Path, case: str) -> None:
    model = _broken_model(tiny_model, sandbox.root, case)
    before = sandbox.files()
    done = sandbox.clue("run", "tnews", "--model", model, "--data-dir", FIXTURES / "tnews", "-q")
    assert_clean_error(done, 2, BROKEN[case][1])
    assert not (sandbox.cwd / "runs").exists()
    assert_only_changed(sandbox, before, [])


def test_tiny_model_refuses_a_non_empty_folder(sandbox: Sandbox) -> None:
    target = sandbox.root / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my work", encoding="utf-8")
    before = sandbox.files()
    done = sandbox.clue("tiny-model", target, "--layers", "1", "--hidden", "16", "--heads", "2")
    assert_clean_error(done, 2, f"{target} exists and is not empty; pass --overwrite")
    assert_only_changed(sandbox, before, [])
    done = sandbox.clue(
        "tiny-model", target, "--layers", "1", "--hidden", "16", "--heads", "2", "--overwrite"
    )
    assert done.returncode == 0, done.stderr
    assert (target / "config.json").is_file() and (target / "notes.txt").read_text() == "my work"


def test_predict_refuses_to_replace_leaderboard_files(sandbox: Sandbox) -> None:
    run = sandbox.root / "run"
    (run / "best").mkdir(parents=True)
    (run / "submission").mkdir()
    earlier = run / "submission" / "tnews11_predict.json"
    earlier.write_text("earlier work\n", encoding="utf-8")
    args = ["predict", "tnews", "--run", run, "--data-dir", FIXTURES / "tnews", "-q"]
    before = sandbox.files()
    assert_clean_error(sandbox.clue(*args), 2, f"{earlier}", "pass --overwrite")
    assert_only_changed(sandbox, before, [])
    # With --overwrite it goes on (and here stops at the empty best/ folder, still before writing anything).
    assert_clean_error(sandbox.clue(*args, "--overwrite"), 2, "best: no config.json")
    assert earlier.read_text() == "earlier work\n"
