"""Published training recipes as data: `configs/recipes/<name>.yaml`, one config layer per (task, model).

A recipe file has `common` (every task), `tasks` (per task) and `models` (per model and task) sections, each a
tree of config keys; the layer for (task, model) merges them in that order. A model without a row in `models`
takes the `fallback_model` row, and the layer says so in a one-line note. The files live in the repository's
top-level `configs/recipes/` and ship inside the package (`clue_runner/configs/recipes`, a link to that folder).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from clue_runner.errors import ClueError, unknown

DEFAULT_RECIPE = "paddlenlp"
_SECTIONS = ("name", "title", "fallback_model", "common", "tasks", "models")


@dataclass(frozen=True)
class RecipeLayer:
    """What one recipe contributes for one (task, model): the config tree, and where it came from."""

    recipe: str
    tree: dict[str, Any]
    model_row: str | None  # the `models` row used (None: the recipe has none for this task)
    note: str | None = None  # e.g. the fallback to another model's row
    sources: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.recipe, "model_row": self.model_row, "note": self.note}


def _folder() -> Any:
    return resources.files("clue_runner").joinpath("configs", "recipes")


def recipe_names() -> list[str]:
    """The packaged recipes, by file name."""
    return sorted(p.name[: -len(".yaml")] for p in _folder().iterdir() if p.name.endswith(".yaml"))


def is_recipe_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or Path(name).expanduser().is_file()


def load_recipe(name: str) -> dict[str, Any]:
    """One recipe as a dict, its sections checked: a packaged recipe by name, or a recipe file by path (a copy of
    one in configs/recipes/, edited)."""
    from clue_runner.config import load_yaml

    if is_recipe_file(name):
        where = name
        data = load_yaml(Path(name).expanduser())
    else:
        names = recipe_names()
        if name not in names:
            raise unknown("recipe", name, names)
        where = f"configs/recipes/{name}.yaml"
        data = load_yaml(where, _folder().joinpath(f"{name}.yaml").read_text(encoding="utf-8"))
    extra = sorted(set(data) - set(_SECTIONS))
    if extra:
        raise ClueError(f"{where}: unknown section(s) {', '.join(extra)}; expected {', '.join(_SECTIONS)}")
    for section in ("common", "tasks", "models"):
        if not isinstance(data.get(section) or {}, dict):
            raise ClueError(f"{where}: {section} must be a mapping")
    return data


def _deep_merge(into: dict[str, Any], layer: dict[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def recipe_layer(name: str, task: str, model: str | None) -> RecipeLayer:
    """The config tree recipe `name` sets for `task` trained from `model` (short name, hub id or folder)."""
    from clue_runner.config import leaves
    from clue_runner.published import canonical_model
    from clue_runner.registry import MODELS

    data = load_recipe(name)
    rows = data.get("models") or {}
    short = canonical_model(model, MODELS.get(model or "")) if model else None
    tree: dict[str, Any] = {}
    _deep_merge(tree, data.get("common") or {})
    _deep_merge(tree, (data.get("tasks") or {}).get(task) or {})
    sources = dict.fromkeys(leaves(tree), f"recipe {name}")
    row, note = None, None
    if short in rows and task in (rows[short] or {}):
        row = short
    elif data.get("fallback_model") and any(task in (per_task or {}) for per_task in rows.values()):
        row = data["fallback_model"]
        if row not in rows:
            raise ClueError(f"configs/recipes/{name}.yaml: fallback_model {row!r} has no row in models")
        note = (
            f"recipe {name}: no {task} row for model {model!r}; using the {row} row "
            f"({_describe(rows[row].get(task) or {})})"
        )
    if row is not None:
        _deep_merge(tree, rows[row].get(task) or {})
        sources.update(dict.fromkeys(leaves(rows[row].get(task) or {}), f"recipe {name}, {row} row"))
    return RecipeLayer(name, tree, row, note, sources)


def _describe(tree: dict[str, Any]) -> str:
    train = tree.get("train") or {}
    parts = [f"{key} {train[key]}" for key in ("lr", "batch_size") if key in train]
    return ", ".join(parts) or "no per-model values"


def describe_recipes() -> list[dict[str, Any]]:
    """One summary per recipe for `clue recipes`: name, title, models with their own rows, tasks covered."""
    out = []
    for name in recipe_names():
        data = load_recipe(name)
        out.append(
            {
                "name": name,
                "title": data.get("title") or "",
                "default": name == DEFAULT_RECIPE,
                "models": sorted(data.get("models") or {}),
                "fallback_model": data.get("fallback_model"),
                "tasks": sorted(data.get("tasks") or {}),
                "path": f"configs/recipes/{name}.yaml",
            }
        )
    return out
