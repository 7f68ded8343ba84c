"""Experiment trackers (`--report-to tensorboard,wandb,mlflow,...`, config key `output.report_to`) through Accelerate.

Each tracker is Accelerate's own class (`accelerate.tracking`), started on the main process with the run folder as
its logging directory (TensorBoard writes `<run>/tensorboard/`). A run logs the resolved config once, then every
`metrics.jsonl` record: the training loss, learning rate and throughput (`train/*`) and every dev metric
(`dev/*`), at the optimizer step they belong to. Trackers are optional extras (`pip install
'clue-runner[tensorboard]'`); asking for one that is not installed is an error before any work starts.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.errors import ClueError, unknown

# tracker name -> (module that must import, the pip extra or package that provides it)
KNOWN: dict[str, tuple[str, str]] = {
    "tensorboard": ("tensorboard", "clue-runner[tensorboard]"),
    "wandb": ("wandb", "clue-runner[wandb]"),
    "mlflow": ("mlflow", "clue-runner[mlflow]"),
    "comet_ml": ("comet_ml", "comet_ml"),
    "aim": ("aim", "aim"),
    "clearml": ("clearml", "clearml"),
    "dvclive": ("dvclive", "dvclive"),
    "swanlab": ("swanlab", "swanlab"),
    "trackio": ("trackio", "trackio"),
}


def tracker_names(value: str | Sequence[str] | None) -> list[str]:
    """`none`, empty or None -> []; otherwise known tracker names separated by commas, duplicates dropped.

    Raises:
        ClueError: an unknown name, with a suggestion.
    """
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names: list[str] = []
    for part in parts:
        name = part.strip().lower()
        if not name or name == "none":
            continue
        if name not in KNOWN:
            raise unknown("tracker (--report-to / output.report_to)", name, KNOWN)
        if name not in names:
            names.append(name)
    return names


def parse_report_to(value: str | Sequence[str] | None) -> list[str]:
    """`tracker_names`, each also installed.

    Raises:
        ClueError: an unknown name (with a suggestion), or a tracker whose package is missing (naming the extra).
    """
    names = tracker_names(value)
    for name in names:
        module, extra = KNOWN[name]
        if importlib.util.find_spec(module) is None:
            raise ClueError(f"--report-to {name} needs the {module} package: pip install '{extra}'")
    return names


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"train": {"lr": 1e-3}}` -> `{"train.lr": 1e-3}`; values trackers cannot store become strings."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


class Trackers:
    """The run's trackers; every method is a no-op when there are none or off the main process."""

    def __init__(self, names: Sequence[str], run_dir: Path, run_name: str, main: bool = True) -> None:
        self.names = list(names) if main else []
        self.run_dir = Path(run_dir)
        self.run_name = run_name
        self._trackers: list[Any] = []
        self._last: tuple[int, float] | None = None  # (step, elapsed_s) of the previous training record

    def start(self, config: dict[str, Any]) -> None:
        if not self.names:
            return
        from accelerate.tracking import LOGGER_TYPE_TO_CLASS

        for name in self.names:
            cls = LOGGER_TYPE_TO_CLASS[name]
            if name == "tensorboard":
                tracker = cls(name, self.run_dir)  # events in <run>/tensorboard/
            elif name == "mlflow":
                tracker = cls(experiment_name="clue-runner", run_name=self.run_name)
            elif cls.requires_logging_directory:
                tracker = cls(self.run_name, self.run_dir)
            else:
                tracker = cls(self.run_name)
            tracker.start()
            self._trackers.append(tracker)
        flat = _flat(config)
        for tracker in self._trackers:
            tracker.store_init_configuration(flat)

    def record(self, record: dict[str, Any]) -> None:
        """One `metrics.jsonl` record: a training line (loss, lr, elapsed_s) or a dev evaluation."""
        if not self._trackers or "step" not in record:
            return
        step = int(record["step"])
        values: dict[str, float] = {}
        if isinstance(record.get("dev"), dict):
            values.update(
                {f"dev/{k}": float(v) for k, v in record["dev"].items() if isinstance(v, (int, float))}
            )
        else:
            for key in ("loss", "lr", "epoch"):
                if isinstance(record.get(key), (int, float)):
                    values[f"train/{key}"] = float(record[key])
            elapsed = record.get("elapsed_s")
            if isinstance(elapsed, (int, float)):
                if self._last is not None and elapsed > self._last[1]:
                    values["train/steps_per_s"] = (step - self._last[0]) / (elapsed - self._last[1])
                self._last = (step, float(elapsed))
        if values:
            for tracker in self._trackers:
                tracker.log(values, step=step)

    def summary(self, results: dict[str, Any], step: int) -> None:
        """A completed run's figures: the best dev metrics (`best/*`) and throughput (`throughput/*`)."""
        values = {f"best/{k}": v for k, v in (results.get("metrics") or {}).get("dev", {}).items()}
        values.update({f"throughput/{k}": v for k, v in (results.get("throughput") or {}).items()})
        numbers = {k: float(v) for k, v in values.items() if isinstance(v, (int, float))}
        for tracker in self._trackers:
            tracker.log(numbers, step=step)

    def finish(self) -> None:
        """Close every tracker (idempotent)."""
        for tracker in self._trackers:
            tracker.finish()
        self._trackers = []

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()
