"""`clue report`: seed statistics per task, the CLUE average, published comparisons, plots.

Reads only `results.json` and `metrics.jsonl` files (no torch import), so a report over a whole sweep takes well
under a second. Every `results.json` below the given folders counts: a run folder, a `clue bench` sweep
(`<task>/seed<k>/`), or any tree of those. Completed runs make up the statistics; failed or unfinished ones are
counted, not scored.

The per-task figure is the metric the CLUE leaderboard ranks the task by, `Task.board_metric`: the main metric,
except CMRC2018 (`em`, CLUE README) and CLUENER (`macro_f1`, the official scorer's macro F1 over the 10 types),
whenever the run reports it. The CLUE score is the mean of the per-task figure means over the CLUE 1.1
leaderboard tasks present (`registry.LEADERBOARD_TASKS`: the 11 tasks without CMNLI); it is flagged partial
(`complete: false`) when any of them is missing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from clue_runner.data import text_lines
from clue_runner.errors import ClueError
from clue_runner.metrics import shown
from clue_runner.published import SOURCES, canonical_model, published, published_extra, source_models
from clue_runner.registry import LEADERBOARD_TASKS, TASKS, get_task
from clue_runner.results import read_results
from clue_runner.runlock import live_status

FORMATS = ("table", "markdown", "csv", "json")
DIGITS = 4  # JSON values; tables show 2


def find_runs(paths: Sequence[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every (run folder, results) below `paths`, sorted by folder; a path that holds no run is an error.

    A `results.json` that cannot be read (a run killed while it was first written) is skipped: the atomic
    writes mean this only happens before the run wrote anything worth reporting.
    """
    found: dict[Path, dict[str, Any]] = {}
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise ClueError(f"not found: {root}")
        candidates = (
            [root / "results.json"]
            if (root / "results.json").is_file()
            else sorted(root.rglob("results.json"))
        )
        hits = 0
        for candidate in candidates:
            results = read_results(candidate.parent)
            if results is None or "task" not in results:
                continue
            results["status"] = live_status(candidate.parent, results)  # a dead `running` is `interrupted`
            found[candidate.parent.resolve()] = results
            hits += 1
        if not hits:
            raise ClueError(
                f"{root}: no results.json below it (expected a `clue run` or `clue bench` output folder)"
            )
    return sorted(found.items(), key=lambda item: str(item[0]))


def figure_metric(task: str, results: dict[str, Any]) -> str:
    """The metric a task's leaderboard figure uses: the registered task's `board_metric` when the run reports it,
    else the run's main metric (a task this version does not know, or a run from before the metric existed)."""
    dev = (results.get("metrics") or {}).get("dev") or {}
    if task in TASKS:
        board = get_task(task).board_metric  # task modules import no torch: cheap
        if board in dev:
            return board
    return str(results.get("main_metric") or next(iter(dev), "score"))


def figure(results: dict[str, Any]) -> float | None:
    """A completed run's leaderboard figure (percent), or None."""
    if results.get("status") != "completed":
        return None
    dev = (results.get("metrics") or {}).get("dev") or {}
    value = dev.get(figure_metric(str(results.get("task")), results))
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    """mean/std/min/max/n; std is the sample std over seeds, null for a single run."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": _r(statistics.fmean(values)),
        "std": _r(statistics.stdev(values)) if len(values) > 1 else None,
        "min": _r(min(values)),
        "max": _r(max(values)),
        "n": len(values),
    }


def _mean_of(runs: Iterable[dict[str, Any]], *keys: str) -> float | None:
    """Mean of runs' numeric value at the nested `keys`, skipping runs that lack it; None when none has it."""
    values = []
    for run in runs:
        value: Any = run
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(value)
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return _r(statistics.fmean(numbers)) if numbers else None


def _model_of(runs: Sequence[dict[str, Any]]) -> tuple[str | None, str | None]:
    names = {(r.get("model") or {}).get("name") for r in runs}
    if len(names) > 1:
        several = ", ".join(sorted(str(n) for n in names))
        raise ClueError(f"the runs use several models ({several}); report each model's folders separately")
    if not runs:
        return None, None
    model = runs[0].get("model") or {}
    return model.get("name"), model.get("resolved")


# Config keys that cannot move a score: runs that differ only here (and in the seed) are pooled.
NOT_A_SETTING = ("seed", "train.log_every", "data.num_workers")


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix.rstrip("."): tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _setting(results: dict[str, Any]) -> dict[str, Any]:
    """The run's configuration as flat dotted keys, without the seed and the keys that cannot move a score, plus
    how it was launched: the process count (4 processes train with 4x the global batch of 1) and the precision
    `train.precision: auto` resolved to (bf16 on a GPU, fp32 on a CPU)."""
    flat = _flat(results.get("config") or {})
    setting = {k: v for k, v in flat.items() if k not in NOT_A_SETTING}
    launch = {
        "launch.processes": (results.get("batch") or {}).get("world_size"),
        "launch.precision": (results.get("environment") or {}).get("precision"),
    }
    setting.update({k: v for k, v in launch.items() if v is not None})
    return setting


def _group_key(setting: dict[str, Any]) -> str:
    return json.dumps(setting, sort_keys=True, default=str)


def _group_entry(task: str, runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Statistics over the seeds of one configuration of one task."""
    done = [r for r in runs if figure(r) is not None]
    metric = figure_metric(task, done[0]) if done else str(runs[0].get("main_metric") or "")
    entry: dict[str, Any] = {"task": task, "model": (runs[0].get("model") or {}).get("name")}
    entry["overrides"] = {}
    entry["metric"] = metric
    entry.update(_stats([figure(r) for r in done]))  # type: ignore[misc]
    entry["seeds"] = sorted(int(r["seed"]) for r in done if isinstance(r.get("seed"), int))
    entry["failed"] = sum(r.get("status") == "failed" for r in runs)
    entry["unfinished"] = sum(r.get("status") not in ("completed", "failed") for r in runs)
    entry["in_clue_score"] = task in LEADERBOARD_TASKS
    names = sorted({k for r in done for k in r["metrics"]["dev"]})
    entry["metrics"] = {
        k: _stats(
            [
                float(r["metrics"]["dev"][k])
                for r in done
                if isinstance(r["metrics"]["dev"].get(k), (int, float))
            ]
        )
        for k in names
    }
    entry["steps"] = _mean_of(done, "steps")
    entry["train_s"] = _mean_of(done, "timings", "train_s")
    entry["total_s"] = _mean_of(done, "timings", "total_s")
    entry["train_tokens_per_s"] = _mean_of(done, "throughput", "train_tokens_per_s")
    entry["train_sequences_per_s"] = _mean_of(done, "throughput", "train_sequences_per_s")
    return entry


def _best(groups: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The group with the highest mean (ties: more seeds); a task without any score keeps its largest group."""
    scored = [g for g in groups if g["mean"] is not None]
    if scored:
        return max(scored, key=lambda g: (g["mean"], g["n"]))
    return max(groups, key=lambda g: g["failed"] + g["unfinished"])


def task_groups(task: str, runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per distinct configuration of `task` (seeds pooled), labelled by the keys that differ."""
    by_setting: dict[str, list[dict[str, Any]]] = {}
    settings: dict[str, dict[str, Any]] = {}
    for r in runs:
        setting = _setting(r)
        key = _group_key(setting)
        by_setting.setdefault(key, []).append(r)
        settings[key] = setting
    keys = sorted({k for s in settings.values() for k in s})
    differing = [k for k in keys if len({json.dumps(s.get(k), default=str) for s in settings.values()}) > 1]
    groups = []
    for key, members in by_setting.items():
        entry = _group_entry(task, members)
        entry["overrides"] = {k: settings[key].get(k) for k in differing}
        groups.append(entry)
    return sorted(groups, key=lambda g: json.dumps(g["overrides"], sort_keys=True, default=str))


def overrides_label(overrides: dict[str, Any]) -> str:
    """`lr=2e-05 batch_size=32`: the differing keys by their last part (the full key where that is ambiguous)."""
    short = [k.rsplit(".", 1)[-1] for k in overrides]
    names = short if len(set(short)) == len(short) else list(overrides)
    return " ".join(f"{n}={v}" for n, v in zip(names, overrides.values(), strict=True))


def summarize(runs: Sequence[tuple[Path, dict[str, Any]]], compare: str | None = None) -> dict[str, Any]:
    """The report as one JSON-ready object (what `--format json` prints; the other formats render it).

    Runs are grouped by (task, configuration apart from the seed): a report never pools runs that were trained
    differently. Each task's figure is its best group's.

    Args:
        runs: (folder, results) pairs from `find_runs`.
        compare: a `published.SOURCES` key to add published figures and deltas, or None.

    Returns:
        {"model", "groups": [...], "tasks": {task: best group}, "clue_score" (null unless every CLUE 1.1 task
        is present), "clue_tasks", "missing", "complete", "compare"}.
    """
    if compare is not None and compare not in SOURCES:
        raise ClueError(f"unknown --compare source {compare!r}; known: {', '.join(SOURCES)}")
    results = [r for _, r in runs]
    name, resolved = _model_of(results)
    short = canonical_model(name, resolved)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by_task.setdefault(str(r["task"]), []).append(r)
    order = [t for t in TASKS if t in by_task] + sorted(t for t in by_task if t not in TASKS)

    groups: list[dict[str, Any]] = []
    tasks: dict[str, Any] = {}
    for task in order:
        mine = task_groups(task, by_task[task])
        if compare is not None:
            for entry in mine:
                entry["published"] = _published_entry(compare, short, name, task, entry)
        groups.extend(mine)
        tasks[task] = {**_best(mine), "groups": len(mine)}

    present = [t for t in LEADERBOARD_TASKS if t in tasks and tasks[t]["n"] > 0]
    complete = len(present) == len(LEADERBOARD_TASKS)
    return {
        "model": name,
        "groups": groups,
        "tasks": tasks,
        # A mean over some of the tasks is not a CLUE score: a partial set names the missing tasks instead.
        "clue_score": _r(statistics.fmean(tasks[t]["mean"] for t in present)) if complete else None,
        "clue_tasks": present,
        "missing": [t for t in LEADERBOARD_TASKS if t not in present],
        "complete": complete,
        "compare": (
            {"source": compare, "split": SOURCES[compare].split, "title": SOURCES[compare].title}
            if compare
            else None
        ),
    }


def _published_entry(
    source: str, short: str | None, name: str | None, task: str, entry: dict[str, Any]
) -> Any:
    value = published(source, short, task)
    out: dict[str, Any] = {"value": value, "delta": None, "note": None}
    if value is None:
        if short is None or short not in source_models(source):
            out["note"] = f"no {source} figures for model {name!r}"
        else:
            out["note"] = f"{source} publishes no {task} figure"
        return out
    if entry["mean"] is not None:
        out["delta"] = _r(entry["mean"] - value)
    out.update(published_extra(source, short, task))  # e.g. CMRC2018's F1 beside its EM figure
    return out


# ---------------------------------------------------------------------------------------------------- rendering


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _others(entry: dict[str, Any]) -> str:
    parts = []
    for name, s in entry["metrics"].items():
        if name == entry["metric"] or s["mean"] is None:
            continue
        spread = f"±{shown(name, s['std'])}" if s["std"] is not None else ""
        parts.append(f"{name} {shown(name, s['mean'])}{spread}")
    return ", ".join(parts)


def _status(entry: dict[str, Any]) -> str:
    notes = []
    if entry["failed"]:
        notes.append(f"{entry['failed']} failed")
    if entry["unfinished"]:
        notes.append(f"{entry['unfinished']} unfinished")
    return ", ".join(notes)


def rows(summary: dict[str, Any], every_group: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and text rows shared by the table, Markdown and CSV renderings (last row: the CLUE score).

    One row per task (its best configuration), or with `every_group` one per configuration, best first.
    """
    compare = summary["compare"]
    header = [
        "task",
        "config",
        "CLUE 1.1",
        "metric",
        "mean",
        "std",
        "min",
        "max",
        "n",
        "other metrics",
        "steps",
        "train s",
        "tokens/s",
    ]
    if compare:
        header += [f"{compare['source']} ({compare['split']})", "Δ"]
    header.append("notes")
    body = []
    for e in _shown(summary, every_group):
        config = overrides_label(e["overrides"])
        if not every_group and e["groups"] > 1:
            config = f"best of {e['groups']}: {config}"
        row = [
            e["task"],
            config,
            "yes" if e["in_clue_score"] else "no",
            e["metric"],
            *(
                shown(e["metric"], e[k]) if isinstance(e[k], float) else _f(e[k])
                for k in ("mean", "std", "min", "max")
            ),
            str(e["n"]),
            _others(e),
            _f(e["steps"], 0),
            _f(e["train_s"], 1 if (e["train_s"] or 0) < 1000 else 0),
            _f(e["train_tokens_per_s"], 0),
        ]
        notes = _status(e)
        if compare:
            p = e["published"]
            if p["value"] is None:
                row += ["n/a", "–"]
                notes = "; ".join(x for x in (notes, p["note"]) if x)
            else:
                row += [_f(p["value"]), f"{p['delta']:+.2f}" if p["delta"] is not None else "–"]
        row.append(notes)
        body.append(row)
    n = len(summary["clue_tasks"])
    label = f"CLUE 1.1 score ({n}/{len(LEADERBOARD_TASKS)} tasks)"
    last = [label, "", "", "", _f(summary["clue_score"])] + [""] * (len(header) - 5)
    if not summary["complete"]:
        last[-1] = "no score for a partial set; missing: " + ", ".join(summary["missing"])
    body.append(last)
    return header, body


def _shown(summary: dict[str, Any], every_group: bool) -> list[dict[str, Any]]:
    if not every_group:
        return list(summary["tasks"].values())
    out = []
    for task in summary["tasks"]:
        mine = [g for g in summary["groups"] if g["task"] == task]
        out += sorted(mine, key=lambda g: (g["mean"] is None, -(g["mean"] or 0.0)))
    return out


def render_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2) + "\n"


def render_markdown(summary: dict[str, Any], every_group: bool = False) -> str:
    header, body = rows(summary, every_group)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [f"**model:** {summary['model']}", ""]
    out += [line(header), "|" + "|".join("---" for _ in header) + "|"]
    out += [line(r) for r in body]
    out.append("")
    out.append(
        "Scores are dev figures in percent: mean and sample std over the seeds of one configuration, by the "
        "leaderboard metric (CMRC2018 counts EM, CLUENER its macro F1); config names the settings that differ "
        "between a task's configurations. The CLUE 1.1 score averages the tasks marked yes (CMNLI is not on the "
        "1.1 board), and only for a complete set."
    )
    if summary["compare"]:
        c = summary["compare"]
        out.append(f"Published: {c['title']}; Δ = our mean minus the published figure.")
    return "\n".join(out) + "\n"


def render_csv(summary: dict[str, Any], every_group: bool = False) -> str:
    header, body = rows(summary, every_group)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def render_rich(summary: dict[str, Any], every_group: bool = False) -> Any:
    """The `table` format: a rich Table of the task rows; the free-text columns (other metrics, notes) and the
    CLUE score go on lines below it, so that the numbers stay readable in a narrow terminal."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    header, body = rows(summary, every_group)
    *tasks, score = body
    # Dropped from the grid to fit 80 columns: the free-text columns go below it, the CLUE 1.1 flag becomes a
    # mark on the task name.
    dropped = ["other metrics", "notes", "CLUE 1.1"]
    if not any(row[header.index("config")] for row in tasks):
        dropped.append("config")  # one configuration per task: nothing to tell apart
    keep = [i for i, name in enumerate(header) if name not in dropped]
    flag = header.index("CLUE 1.1")
    title = f"model {summary['model']}"
    if summary["compare"]:
        title += f"; {summary['compare']['source']} = {summary['compare']['title']}"
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False, show_edge=False)
    numeric = {"mean", "std", "min", "max", "n", "steps", "train s", "tokens/s", "Δ"}
    if summary["compare"]:
        numeric.add(header[header.index("Δ") - 1])  # the published figure
    for i in keep:
        name = {"tokens/s": "tok/s"}.get(header[i], header[i].split(" (")[0])
        # Every column keeps at least its header's width: rich would otherwise squeeze text columns to nothing.
        table.add_column(
            name, justify="right" if header[i] in numeric else "left", no_wrap=True, min_width=len(name)
        )
    short = {"accuracy": "acc"}
    for row in tasks:
        cells = [row[i] for i in keep]
        cells[0] += "" if row[flag] == "yes" else "*"
        metric = [header[i] for i in keep].index("metric")
        cells[metric] = short.get(cells[metric], cells[metric])
        table.add_row(*cells)
    lines: list[Any] = [table]
    if any(row[flag] != "yes" for row in tasks):
        lines.append(Text("* not part of the CLUE 1.1 score"))
    for row in tasks:
        extra = "; ".join(
            row[header.index(name)] for name in ("other metrics", "notes") if row[header.index(name)]
        )
        if extra:
            lines.append(Text(f"{row[0]}: {extra}"))
    tail = f"{score[0]}: {score[header.index('mean')]}"
    if score[-1]:
        tail += f" ({score[-1]})"
    lines.append(Text(tail, style="bold"))
    return Group(*lines)


# ---------------------------------------------------------------------------------------------------- plots


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ClueError(
            "--plot needs matplotlib: pip install 'clue-runner[plot]' (or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")  # no display needed; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def read_metrics_log(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training lines, eval lines) of a metrics.jsonl; a torn last line (a killed run) is ignored."""
    train, evals = [], []
    for text in text_lines(path.read_text(encoding="utf-8")):
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or "step" not in record:
            continue
        if isinstance(record.get("dev"), dict):
            evals.append(record)
        elif "loss" in record:
            train.append(record)
    return train, evals


def plot_curves(run_dir: Path, results: dict[str, Any], out: Path) -> None:
    """Write `curves_figure` as a PNG."""
    plt = _pyplot()
    _save(curves_figure(run_dir, results), plt, out)


def plot_scores(summary: dict[str, Any], out: Path, source: str = "bojone") -> None:
    """Write `scores_figure` as a PNG."""
    plt = _pyplot()
    _save(scores_figure(summary, source), plt, out)


def curves_figure(run_dir: Path, results: dict[str, Any]) -> Any:
    """Loss, learning rate and dev metrics against the optimizer step, from the run's metrics.jsonl.

    The headline dev metrics get one panel; per-type scores (CLUENER's `f1_<type>`, ten curves) get their own, so
    that neither legend hides the other's data. Legends sit outside the axes.
    """
    log_file = run_dir / "metrics.jsonl"
    if not log_file.is_file():
        raise ClueError(f"{run_dir}: no metrics.jsonl to draw learning curves from")
    train, evals = read_metrics_log(log_file)
    if not train and not evals:
        raise ClueError(f"{log_file}: no training or eval lines")
    plt = _pyplot()
    names = sorted({k for r in evals for k in r["dev"]})
    per_type = [n for n in names if n.startswith("f1_")]
    headline = [n for n in names if n not in per_type]
    panels = 4 if per_type else 3
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    steps = [r["step"] for r in train]
    marker = "o" if len(steps) < 30 else None  # a short run's few points would not show as a bare line
    axes[0].plot(steps, [r["loss"] for r in train], color="tab:blue", marker=marker)
    axes[0].set(title="training loss", xlabel="step", ylabel="loss")
    axes[1].plot(steps, [r.get("lr") for r in train], color="tab:orange", marker=marker)
    axes[1].set(title="learning rate", xlabel="step", ylabel="lr")
    axes[1].ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    for ax, group, title in ((axes[2], headline, "dev metrics"), (axes[-1], per_type, "dev F1 per type")):
        if not group:
            continue
        for name in group:
            points = [
                (r["step"], r["dev"][name]) for r in evals if isinstance(r["dev"].get(name), (int, float))
            ]
            label = name.removeprefix("f1_") if group is per_type else name
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=3, label=label)
        if results.get("best_step") is not None:
            ax.axvline(results["best_step"], color="grey", linestyle=":", label="best step")
        ax.set(title=title, xlabel="step", ylabel="%")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, borderaxespad=0)
    model = (results.get("model") or {}).get("name")
    fig.suptitle(f"{results.get('task')} / {model} / seed {results.get('seed')}")
    fig.tight_layout()  # makes room for the legends outside the axes
    return fig


def scores_figure(summary: dict[str, Any], source: str = "bojone") -> Any:
    """Per-task mean with std error bars, next to the `source` published figure where there is one.

    Value labels sit above each bar's error bar, with head room left for them; the legend goes below the axes.
    """
    plt = _pyplot()
    tasks = [t for t, e in summary["tasks"].items() if e["n"] > 0]
    if not tasks:
        raise ClueError("no completed runs to plot")
    short = canonical_model(summary["model"])
    ours = [summary["tasks"][t]["mean"] for t in tasks]
    errs = [summary["tasks"][t]["std"] or 0.0 for t in tasks]
    theirs = [published(source, short, t) for t in tasks]
    pairs = any(v is not None for v in theirs)
    width = 0.4 if pairs else 0.6
    xs = list(range(len(tasks)))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(tasks) + 2), 5.0))
    left = [x - width / 2 for x in xs] if pairs else xs
    ax.bar(left, ours, width, yerr=errs, capsize=4, label=f"ours (dev, n={_ns(summary)})", color="tab:blue")
    tops = [v + e for v, e in zip(ours, errs, strict=True)]
    for x, top, value in zip(left, tops, ours, strict=True):
        ax.annotate(
            f"{value:.1f}", (x, top), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8
        )
    if pairs:
        # Tasks the source does not publish get no grey bar rather than a misleading zero.
        known = [(x + width / 2, v) for x, v in zip(xs, theirs, strict=True) if v is not None]
        ax.bar(
            [k[0] for k in known], [k[1] for k in known], width, label=SOURCES[source].title, color="tab:grey"
        )
        for x, value in known:
            ax.annotate(
                f"{value:.1f}", (x, value), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8
            )
        tops += [k[1] for k in known]
    ax.set_ylim(0, max(max(tops) * 1.12, 1.0))  # head room for the value labels
    ax.set_xticks(xs, [f"{t}\n({summary['tasks'][t]['metric']})" for t in tasks])
    ax.set_ylabel("score (%)")
    score = summary["clue_score"]
    ax.set_title(
        f"{summary['model']}: CLUE 1.1 score {_f(score)}"
        if summary["complete"]
        else f"{summary['model']}: no CLUE 1.1 score ({len(summary['missing'])} of {len(LEADERBOARD_TASKS)} tasks missing)"
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def _ns(summary: dict[str, Any]) -> str:
    counts = sorted({e["n"] for e in summary["tasks"].values() if e["n"]})
    return "/".join(map(str, counts))


def _save(fig: Any, plt: Any, out: Path) -> None:
    from clue_runner.results import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # keeps the outside legends in the image
    plt.close(fig)
    atomic_write_bytes(out, buffer.getvalue())
