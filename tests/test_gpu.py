"""GPU checks (run with `pytest -m gpu` on a CUDA machine; CI has no GPU and deselects them).

bf16 autocast must train and predict through the same code path as fp32, with GlobalPointer scores kept in
float32, and predictions close to the fp32 ones for the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from clue_runner.runner import predict_run, run_task

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.mark.parametrize("task", ["tnews", "cmrc2018", "cluener", "c3", "chid"])
def test_bf16_run_completes(task: str, tiny_model: Path, task_data, tmp_path: Path) -> None:
    outcome = run_task(
        task,
        model=str(tiny_model),
        data_dir=task_data(task),
        output_dir=tmp_path / "run",
        sets=["train.max_steps=4", "train.precision=auto"],
        progress=False,
    )
    assert outcome.status == "completed"
    env = outcome.results["environment"]
    assert env["device"] != "cpu"
    assert env["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "no")


def test_bf16_predictions_agree_with_fp32(tiny_model: Path, task_data, tmp_path: Path) -> None:
    data = task_data("tnews")
    run = run_task(
        "tnews",
        model=str(tiny_model),
        data_dir=data,
        output_dir=tmp_path / "run",
        sets=["train.max_steps=20", "train.lr=1e-3", "train.precision=no"],
        progress=False,
    ).run_dir
    config = run / "config.yaml"
    text = config.read_text()
    predict_run("tnews", run, data, tmp_path / "fp32", progress=False)
    config.write_text(
        text.replace("precision: 'no'", "precision: bf16").replace("precision: no", "precision: bf16")
    )
    predict_run("tnews", run, data, tmp_path / "bf16", progress=False)
    a = [
        json.loads(x)["label"] for x in (tmp_path / "fp32" / "tnews11_predict.json").read_text().splitlines()
    ]
    b = [
        json.loads(x)["label"] for x in (tmp_path / "bf16" / "tnews11_predict.json").read_text().splitlines()
    ]
    assert sum(x == y for x, y in zip(a, b, strict=True)) >= 0.8 * len(a)
