"""`clue bench`: cell planning, restarts, failure handling (with a stand-in runner), and real tiny sweeps."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clue_runner import bench
from clue_runner.cli import app
from clue_runner.errors import ClueError
from clue_runner.registry import TASKS
from clue_runner.runner import RunOutcome

FIXTURES = Path(__file__).parent / "fixtures"
FAST = ["--set", "train.max_steps=2", "--set", "train.batch_size=4", "--set", "eval.batch_size=8"]


def test_parse_tasks_and_seeds() -> None:
    assert bench.parse_tasks("all") == list(TASKS) and "cmnli" in bench.parse_tasks("ALL")
    assert bench.parse_tasks("tnews, AFQMC,tnews") == ["tnews", "afqmc"]
    with pytest.raises(ClueError, match="did you mean 'tnews'"):
        bench.parse_tasks("tnwes")
    with pytest.raises(ClueError, match="empty"):
        bench.parse_tasks(" , ")
    assert bench.parse_seeds("1, 2,3,2") == [1, 2, 3]
    assert bench.parse_seeds(None) == []
    with pytest.raises(ClueError, match="not an integer"):
        bench.parse_seeds("1,two")


class FakeRunner:
    """Stands in for runner.run_task: writes a results.json like the real one, fails or crashes on demand."""

    def __init__(
        self,
        fail: Collection[tuple[str, int]] = (),
        crash: Collection[tuple[str, int]] = (),
        interrupt: tuple[str, int] | None = None,
    ) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail, self.crash, self.interrupt = set(fail), set(crash), interrupt

    def __call__(self, task: str, **kw: Any) -> RunOutcome:
        from clue_runner import config as config_mod

        self.calls.append({"task": task, **kw})
        key = (task, kw["seed"])
        out = Path(kw["output_dir"])
        if out.exists() and kw["overwrite"]:
            shutil.rmtree(out)
        out.mkdir(parents=True)
        tree = config_mod.merged_dict(
            task,
            list(kw["config_files"]),
            list(kw["sets"]),
            {"model": kw["model"], "seed": kw["seed"]},
            kw["recipe"],
        )
        results: dict[str, Any] = {
            "task": task,
            "status": "running",
            "seed": kw["seed"],
            "config": tree,
            "model": {"name": kw["model"]},
            "main_metric": "accuracy",
        }
        (out / "results.json").write_text(json.dumps(results))
        if key == self.interrupt:
            raise KeyboardInterrupt
        if key in self.crash:
            raise RuntimeError("CUDA out of memory")
        if key in self.fail:
            results.update(status="failed", error="NonFiniteLoss: loss is nan")
        else:
            results.update(
                status="completed", metrics={"dev": {"accuracy": 50.0 + kw["seed"]}}, timings={"total_s": 1.0}
            )
        (out / "results.json").write_text(json.dumps(results))
        return RunOutcome(out, results["status"], results)


def sweep(
    out: Path, fake: FakeRunner, seeds: tuple[int, ...] = (1, 2), sets: tuple[str, ...] = ()
) -> list[bench.Cell]:
    return bench.run_bench(
        ["tnews", "afqmc"], "some-model", list(seeds), out, sets=list(sets), run=fake, progress=False
    )


def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    fake = FakeRunner(fail={("tnews", 2)}, crash={("afqmc", 1)})
    cells = sweep(tmp_path / "out", fake)
    assert [(c.task, c.seed, c.status) for c in cells] == [
        ("tnews", 1, "completed"),
        ("tnews", 2, "failed"),
        ("afqmc", 1, "failed"),
        ("afqmc", 2, "completed"),
    ]
    assert cells[0].score == 51.0 and cells[0].metric == "accuracy"
    assert cells[1].error == "NonFiniteLoss: loss is nan"
    assert cells[2].error == "RuntimeError: CUDA out of memory"
    assert fake.calls[0]["output_dir"] == tmp_path / "out" / "tnews" / "seed1"
    summary = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert [c["status"] for c in summary["cells"]] == ["completed", "failed", "failed", "completed"]

    # Re-run: only the two failed cells run again, with overwrite; the completed ones are skipped.
    again = FakeRunner()
    cells = sweep(tmp_path / "out", again)
    assert [(c["task"], c["seed"]) for c in again.calls] == [("tnews", 2), ("afqmc", 1)]
    assert all(c["overwrite"] for c in again.calls)
    assert [c.status for c in cells] == ["skipped", "completed", "completed", "skipped"]
    assert cells[0].score == 51.0  # a skipped cell still reports its score


def test_parse_grid() -> None:
    assert bench.parse_grid([]) == [{}]
    points = bench.parse_grid(["train.lr=1e-5, 2e-5", "train.batch_size=16,32,16"])
    assert points == [
        {"train.lr": "1e-5", "train.batch_size": "16"},
        {"train.lr": "1e-5", "train.batch_size": "32"},
        {"train.lr": "2e-5", "train.batch_size": "16"},
        {"train.lr": "2e-5", "train.batch_size": "32"},
    ]
    assert bench.grid_folder(points[1]) == "lr=1e-5_batch_size=32"
    assert (
        bench.grid_folder({"train.dropout": "0.1", "data.dropout": "0"}) == "train.dropout=0.1_data.dropout=0"
    )
    for bad, message in (("train.lr", "expected key=value"), ("train.lr=", "expected key=value")):
        with pytest.raises(ClueError, match=message):
            bench.parse_grid([bad])
    with pytest.raises(ClueError, match="given twice"):
        bench.parse_grid(["train.lr=1", "train.lr=2"])
    with pytest.raises(ClueError, match="--seeds"):
        bench.parse_grid(["seed=1,2"])


def test_grid_cells_folders_restart_and_bad_keys(tmp_path: Path) -> None:
    fake = FakeRunner(fail={("tnews", 2)})
    grid = bench.parse_grid(["train.lr=1e-5,2e-5"])
    out = tmp_path / "grid"
    cells = bench.run_bench(["tnews"], "some-model", [1, 2], out, run=fake, progress=False, grid=grid)
    assert [c.dir.relative_to(out).as_posix() for c in cells] == [
        "tnews/lr=1e-5/seed1",
        "tnews/lr=1e-5/seed2",
        "tnews/lr=2e-5/seed1",
        "tnews/lr=2e-5/seed2",
    ]
    assert fake.calls[2]["sets"] == ("train.lr=2e-5",) or list(fake.calls[2]["sets"]) == ["train.lr=2e-5"]
    config = json.loads((out / "tnews" / "lr=2e-5" / "seed1" / "results.json").read_text())["config"]
    assert config["train"]["lr"] == 2e-5
    # Restart: only the failed cells (seed 2 of both points) run again.
    again = FakeRunner()
    bench.run_bench(["tnews"], "some-model", [1, 2], out, run=again, progress=False, grid=grid)
    assert [(c["seed"], list(c["sets"])) for c in again.calls] == [
        (2, ["train.lr=1e-5"]),
        (2, ["train.lr=2e-5"]),
    ]
    with pytest.raises(ClueError, match="unknown config key 'train.lrr'"):
        bench.run_bench(
            ["tnews"], "m", [1], tmp_path / "bad", run=FakeRunner(), grid=bench.parse_grid(["train.lrr=1"])
        )
    assert not (tmp_path / "bad" / "tnews").exists()  # refused before any cell ran


def test_interrupted_cell_is_rerun_next_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        sweep(out, FakeRunner(interrupt=("afqmc", 1)))
    summary = json.loads((out / "bench.json").read_text())
    assert [c["status"] for c in summary["cells"]] == ["completed", "completed", "interrupted", "pending"]
    assert summary["cells"][2]["error"] == "interrupted"
    assert json.loads((out / "afqmc" / "seed1" / "results.json").read_text())["status"] == "running"
    again = FakeRunner()
    cells = sweep(out, again)
    assert [(c["task"], c["seed"]) for c in again.calls] == [("afqmc", 1), ("afqmc", 2)]
    assert [c.status for c in cells] == ["skipped", "skipped", "completed", "completed"]


def _hold_like_another_process(folder: Path) -> int:
    """flock the cell's lock file through a separate open file: to the lock it is another holder."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".clue.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, json.dumps({"host": "node7", "pid": 4242}).encode())
    return fd


def test_a_cell_held_by_a_live_process_is_left_to_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    fd = _hold_like_another_process(out / "tnews" / "seed2")
    try:
        fake = FakeRunner()
        cells = sweep(out, fake)
    finally:
        os.close(fd)
    assert [(c["task"], c["seed"]) for c in fake.calls] == [("tnews", 1), ("afqmc", 1), ("afqmc", 2)]
    assert cells[1].status == "elsewhere" and "node7, pid 4242" in str(cells[1].error)
    again = FakeRunner()
    sweep(out, again)  # its holder is gone: the cell is free now
    assert [(c["task"], c["seed"]) for c in again.calls] == [("tnews", 2)]


def test_an_interrupted_cell_with_a_checkpoint_is_resumed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sweep(out, FakeRunner())
    cell = out / "afqmc" / "seed1"
    results = json.loads((cell / "results.json").read_text())
    (cell / "results.json").write_text(json.dumps({**results, "status": "running", "pid": 1, "host": "x"}))
    (cell / "checkpoints" / "step-00000002").mkdir(parents=True)
    (cell / "checkpoints" / "step-00000002" / "loop_state.json").write_text("{}")
    resumed: list[Path] = []

    def resume(run_dir: Path, **kw: Any) -> RunOutcome:
        resumed.append(run_dir)
        done = {**results, "status": "completed"}
        (run_dir / "results.json").write_text(json.dumps(done))
        return RunOutcome(run_dir, "completed", done)

    fake = FakeRunner()
    cells = bench.run_bench(["tnews", "afqmc"], "some-model", [1, 2], out, run=fake, resume=resume,
                            progress=False)  # fmt: skip
    assert resumed == [cell] and fake.calls == []
    assert [c.status for c in cells] == ["skipped", "skipped", "completed", "skipped"]


def test_a_cell_stopped_by_a_signal_stops_the_sweep(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def stopped(task: str, **kw: Any) -> RunOutcome:
        results = {"task": task, "status": "interrupted", "seed": kw["seed"], "model": {"name": "m"}}
        return RunOutcome(Path(kw["output_dir"]), "interrupted", results, exit_code=143, step=7)

    with pytest.raises(bench.SweepInterrupted) as caught:
        bench.run_bench(["tnews", "afqmc"], "m", [1], out, run=stopped, progress=False)
    assert (caught.value.exit_code, caught.value.step, caught.value.cell.task) == (143, 7, "tnews")
    summary = json.loads((out / "bench.json").read_text())
    assert [c["status"] for c in summary["cells"]] == ["interrupted", "pending"]


def test_shards_split_the_cells_deterministically(tmp_path: Path) -> None:
    assert bench.parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "x", "1/2/3"):
        with pytest.raises(ClueError, match="--shard"):
            bench.parse_shard(bad)
    seen = []
    for k in (1, 2, 3):
        fake = FakeRunner()
        bench.run_bench(
            ["tnews", "afqmc"], "m", [1, 2], tmp_path / "out", run=fake, progress=False, shard=(k, 3)
        )
        seen += [(c["task"], c["seed"]) for c in fake.calls]
    assert seen == [("tnews", 1), ("afqmc", 2), ("tnews", 2), ("afqmc", 1)]


def test_default_seed_comes_from_the_config(tmp_path: Path) -> None:
    fake = FakeRunner()
    cells = bench.run_bench(["tnews"], "m", [], tmp_path / "a", sets=["seed=7"], run=fake, progress=False)
    assert [(c.seed, c.dir.name) for c in cells] == [(7, "seed7")] and fake.calls[0]["seed"] == 7
    cells = bench.run_bench(["tnews"], "m", [], tmp_path / "b", run=fake, progress=False)
    assert cells[0].seed == 42  # base.yaml's seed


def test_completed_cells_with_another_config_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sweep(out, FakeRunner(), seeds=(1,), sets=("train.lr=3e-5",))
    fake = FakeRunner()
    with pytest.raises(ClueError, match=r"train\.lr: 3e-05 -> 2e-05"):
        sweep(out, fake, seeds=(1,))
    assert fake.calls == []  # refused before any cell ran
    with pytest.raises(ClueError, match="did you mean"):
        sweep(tmp_path / "other", FakeRunner(), sets=("train.lrr=1e-5",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ClueError, match="not a folder"):
        sweep(tmp_path / "file", FakeRunner())


# ------------------------------------------------------------------------------------------ real tiny runs


@pytest.fixture()
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for task in ("tnews", "afqmc"):
        shutil.copytree(FIXTURES / task, root / task)
    return root


def bench_args(tiny_model: Path, data_root: Path, out: Path) -> list[str]:
    return [
        "bench",
        "--tasks",
        "tnews,afqmc",
        "--seeds",
        "1,2",
        "--model",
        str(tiny_model),
        "--data-root",
        str(data_root),
        "--output-dir",
        str(out),
        "--offline",
        "--quiet",
        *FAST,
    ]


def test_tiny_sweep_restart_report_submit(tmp_path: Path, tiny_model: Path, data_root: Path) -> None:
    out = tmp_path / "sweep"
    runner = CliRunner()
    start = time.perf_counter()
    first = runner.invoke(app, bench_args(tiny_model, data_root, out))
    first_s = time.perf_counter() - start
    assert first.exit_code == 0, first.output
    for task in ("tnews", "afqmc"):
        for seed in (1, 2):
            results = json.loads((out / task / f"seed{seed}" / "results.json").read_text())
            assert results["status"] == "completed" and results["seed"] == seed
            assert (out / task / f"seed{seed}" / "submission").is_dir()

    # Simulate a cell killed mid-run: its results.json says running and an atomic write's temp file is left.
    killed = out / "afqmc" / "seed2"
    results = json.loads((killed / "results.json").read_text())
    (killed / "results.json").write_text(json.dumps({**results, "status": "running"}))
    (killed / ".metrics.jsonl.k1ll3d.tmp").write_text("x")
    kept = (out / "tnews" / "seed1" / "results.json").stat().st_mtime_ns

    second = runner.invoke(app, bench_args(tiny_model, data_root, out))
    assert second.exit_code == 0, second.output
    assert (out / "tnews" / "seed1" / "results.json").stat().st_mtime_ns == kept  # skipped, untouched
    assert json.loads((killed / "results.json").read_text())["status"] == "completed"
    assert not (killed / ".metrics.jsonl.k1ll3d.tmp").exists()
    cells = json.loads((out / "bench.json").read_text())["cells"]
    assert [c["status"] for c in cells] == ["skipped", "skipped", "skipped", "completed"]

    # Everything complete now: a subprocess re-run skips all cells, in a fraction of the first run's time.
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "clue_runner", *bench_args(tiny_model, data_root, out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    third_s = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("skipped") == 4 and "clue report" in done.stdout
    assert third_s < first_s

    summary = json.loads(runner.invoke(app, ["report", str(out), "--format", "json"]).stdout)
    assert summary["complete"] is False
    assert {t: e["n"] for t, e in summary["tasks"].items()} == {"afqmc": 2, "tnews": 2}
    assert all(e["std"] is not None for e in summary["tasks"].values())

    archive = tmp_path / "submit.zip"
    submitted = runner.invoke(app, ["submit", str(out), "-o", str(archive)])
    assert submitted.exit_code == 0, submitted.output
    checked = runner.invoke(app, ["validate", str(archive), "--data-root", str(data_root)])
    assert checked.exit_code == 0, checked.output


def test_tiny_sweep_failed_cell_exit_status(tmp_path: Path, tiny_model: Path, data_root: Path) -> None:
    # afqmc data removed: that cell fails before training, the tnews cell still runs; exit status 1.
    shutil.rmtree(data_root / "afqmc")
    out = tmp_path / "sweep"
    args = [
        "bench",
        "--tasks",
        "tnews,afqmc",
        "--model",
        str(tiny_model),
        "--data-root",
        str(data_root),
        "--output-dir",
        str(out),
        "--offline",
        "--quiet",
        *FAST,
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "1 of 2 cells failed" in result.output
    cells = {c["task"]: c for c in json.loads((out / "bench.json").read_text())["cells"]}
    assert cells["tnews"]["status"] == "completed"
    assert cells["afqmc"]["status"] == "failed" and "data folder not found" in cells["afqmc"]["error"]


def test_tiny_grid_sweep_reports_one_group_per_point(
    tmp_path: Path, tiny_model: Path, data_root: Path
) -> None:
    """The issue's done-when: a 2-lr x 2-seed grid reports two groups of n=2 and names the best."""
    out = tmp_path / "grid"
    args = [
        "bench", "--tasks", "tnews", "--model", str(tiny_model), "--data-root", str(data_root),
        "--output-dir", str(out), "--seeds", "1,2", "--grid", "train.lr=1e-4,5e-3", "--offline", "--quiet", *FAST,
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "clue_runner", *args], capture_output=True, text=True, timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (out / "tnews").iterdir()) == ["lr=1e-4", "lr=5e-3"]
    shown = subprocess.run(
        [sys.executable, "-m", "clue_runner", "report", str(out), "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    groups = summary["groups"]
    assert [(g["overrides"], g["n"], g["seeds"]) for g in groups] == [
        ({"train.lr": 0.0001}, 2, [1, 2]),
        ({"train.lr": 0.005}, 2, [1, 2]),
    ]
    best = max(groups, key=lambda g: (g["mean"], g["n"]))
    assert summary["tasks"]["tnews"]["overrides"] == best["overrides"]
    assert summary["clue_score"] is None and "tnews" not in summary["missing"]
    table = subprocess.run(
        [sys.executable, "-m", "clue_runner", "report", str(out), "--format", "csv", "--all"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    configs = [line.split(",")[1] for line in table.stdout.splitlines()[1:3]]
    assert configs[0] == f"lr={best['overrides']['train.lr']}" and sorted(configs) == [
        "lr=0.0001",
        "lr=0.005",
    ]


def test_two_bench_processes_split_one_sweep(tmp_path: Path, tiny_model: Path, data_root: Path) -> None:
    out = tmp_path / "sweep"
    env = {**os.environ, "COLUMNS": "200"}
    # Not --quiet: each process's per-cell "running ->" lines say which cells it took.
    args = [arg for arg in bench_args(tiny_model, data_root, out) if arg != "--quiet"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "clue_runner", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    ran = [
        line.split(":")[0] for _, stderr in outputs for line in stderr.splitlines() if ": running ->" in line
    ]
    assert sorted(ran) == [
        "afqmc seed 1",
        "afqmc seed 2",
        "tnews seed 1",
        "tnews seed 2",
    ]  # each exactly once
    pids = {p.pid for p in procs}
    for task in ("tnews", "afqmc"):
        for seed in (1, 2):
            results = json.loads((out / task / f"seed{seed}" / "results.json").read_text())
            assert results["status"] == "completed" and results["pid"] in pids
