"""Configuration: YAML layers merged strictly into frozen dataclasses.

Precedence: base.yaml < tasks/<task>.yaml < recipe (configs/recipes/<name>.yaml for the task and model) <
--config FILE... < --set key=value... < dedicated CLI flags. `merged_with_sources` also says which layer set each
value (results.json keeps it).
Every key must exist in base.yaml (task files may add keys under `task:` only); values set later must keep the
type of the default. Duplicate keys in a YAML file are an error, because PyYAML would silently keep the last one.
"""

from __future__ import annotations

import copy
import math
import re
import reprlib
from dataclasses import dataclass, field, fields, is_dataclass
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

import yaml

from clue_runner.errors import ClueError, did_you_mean

if TYPE_CHECKING:
    from clue_runner.recipes import RecipeLayer


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    max_steps: int | None
    batch_size: int
    lr: float
    warmup_ratio: float
    weight_decay: float
    adam_eps: float
    grad_accum: int
    max_grad_norm: float
    precision: str
    eval_every: int | None
    group_by_length: bool
    cpu_speedups: bool
    dropout: float | None
    log_every: int
    optimizer: str
    schedule: str
    save_every: int | None
    keep_checkpoints: int
    early_stop: int | None


@dataclass(frozen=True)
class DataConfig:
    max_len: int
    max_train: int | None
    max_eval: int | None
    num_workers: int


@dataclass(frozen=True)
class EvalConfig:
    batch_size: int


@dataclass(frozen=True)
class OutputConfig:
    report_to: str
    save_model: str


@dataclass(frozen=True)
class RunConfig:
    seed: int
    model: str
    train: TrainConfig
    data: DataConfig
    eval: EvalConfig
    output: OutputConfig
    task: dict[str, Any] = field(default_factory=dict)


PRECISIONS = ("auto", "no", "fp16", "bf16")
OPTIMIZERS = ("adamw", "adafactor")
SCHEDULES = ("linear", "constant")
# Other words for a value, stored as the value itself: what people write for "no mixed precision".
_ALIASES: dict[str, dict[str, str]] = {"train.precision": {"off": "no", "fp32": "no"}}
SEED_LIMIT = 2**32  # numpy's and accelerate's set_seed take [0, 2**32)

# YAML 1.1 words PyYAML would read as booleans. Config files read them as text (only true/false are booleans,
# as in YAML 1.2), so `precision: no` is the string "no"; a boolean key accepts them back (`group_by_length: off`).
_BOOL_WORDS = {"yes": True, "on": True, "y": True, "no": False, "off": False, "n": False}
_BOOL_TAG = "tag:yaml.org,2002:bool"


def short_repr(value: Any, limit: int = 80) -> str:
    """repr(value) cut to about `limit` characters without building the whole text first (a value built from
    YAML aliases can have a repr of gigabytes)."""
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = limit
    shortener.maxlevel, shortener.maxlist, shortener.maxdict = 2, 6, 6
    text = shortener.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class AliasRefused(ClueError):
    """A YAML alias in a config file or --set value."""


SAVE_MODEL = ("best", "none")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader for config files: duplicate mapping keys and aliases are refused, and only true/false are
    booleans. Aliases are refused because a few lines of nested aliases expand into gigabytes (an alias bomb),
    and a config file has no need of them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(
                f"{self.name}:{event.start_mark.line + 1}: YAML aliases (*{short_repr(event.anchor, 40)[1:-1]}) "
                "are not allowed in config files; write the value out"
            )
        return super().compose_node(parent, index)


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ClueError(f"{loader.name}:{key_node.start_mark.line + 1}: duplicate key {short_repr(key)}")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_config_file(path: str | Path) -> str:
    """The text of a YAML config file; a missing file or one that is not UTF-8 is a ClueError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ClueError(f"config file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ClueError(f"{path}: not UTF-8 text") from None


def load_yaml(path: str | Path, text: str | None = None) -> dict[str, Any]:
    """Load one YAML mapping, refusing duplicate keys and non-mapping documents."""
    path = Path(path)
    if text is None:
        text = _read_config_file(path)
    data = _parse_yaml(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClueError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return data


def _parse_yaml(text: str, name: str) -> Any:
    loader = _UniqueKeyLoader(text)
    loader.name = name
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ClueError(_yaml_error(name, exc)) from None
    except RecursionError:
        raise ClueError(f"{name}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def _yaml_error(name: str, exc: yaml.YAMLError) -> str:
    """One line: the file, the line where the parser gave up, and what it expected (PyYAML's own message spans
    several lines with a caret drawing)."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{name}:{mark.line + 1}" if mark is not None else name
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{problem} ({context})" if context else str(problem)
    return f"{where}: invalid YAML: {short_repr(text, 300)[1:-1]}"


def _packaged(name: str) -> str:
    return resources.files("clue_runner").joinpath("configs", name).read_text(encoding="utf-8")


def base_config() -> dict[str, Any]:
    return load_yaml("configs/base.yaml", _packaged("base.yaml"))


def task_config(task: str) -> dict[str, Any]:
    """The task's own deltas (empty when the task has no file)."""
    try:
        text = _packaged(f"tasks/{task}.yaml")
    except FileNotFoundError:
        return {}
    return load_yaml(f"configs/tasks/{task}.yaml", text)


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """Check `value` against the default's type; YAML reads '1e-5' as a string, so floats get parsed."""
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.lower()]
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        number = _float(value)
        if number is not None:
            return number
    elif isinstance(default, str):
        if isinstance(value, str):
            return _ALIASES.get(key, {}).get(value, value)
    elif isinstance(default, list) and isinstance(value, list):
        return value
    raise ClueError(
        f"{where}: {key} must be a {type(default).__name__} like {default!r}, "
        f"got {short_repr(value)} ({type(value).__name__})"
    )


def _float(value: Any) -> float | None:
    """A number as float (YAML 1.1 reads '1e-5' as text, so strings are parsed), or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _merge(
    into: dict[str, Any],
    layer: dict[str, Any],
    where: str,
    prefix: str = "",
    allow_new: bool = False,
    lines: dict[str, int] | None = None,
    sources: dict[str, str] | None = None,
) -> None:
    """Merge `layer` into `into`, refusing keys `into` lacks (with a suggestion) and values of another type.

    `lines` (dotted key -> line, see `key_lines`) adds the line to messages about a key; `sources` (when given)
    records `where` for every value set.
    """
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        at = f"{where}:{lines[dotted]}" if lines and dotted in lines else where
        if key not in into:
            if not allow_new:
                raise ClueError(
                    f"{at}: unknown config key {dotted!r}{did_you_mean(dotted, _all_keys(into, prefix))}"
                )
            into[key] = value
        elif isinstance(into[key], dict):
            if not isinstance(value, dict):
                raise ClueError(f"{at}: {dotted} must be a mapping, got {short_repr(value)}")
            _merge(into[key], value, where, f"{dotted}.", allow_new, lines, sources)
            continue
        else:
            into[key] = _coerce(dotted, value, into[key], at)
        if sources is not None:
            sources.update(dict.fromkeys(leaves({key: into[key]}, prefix), where))


def leaves(tree: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys of the non-mapping values (an empty mapping counts as a value)."""
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.extend(leaves(value, f"{prefix}{key}."))
        else:
            out.append(f"{prefix}{key}")
    return out


def key_lines(text: str) -> dict[str, int]:
    """Dotted key -> 1-based line of each key of a YAML mapping document, for messages (empty if not a mapping)."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            lines[dotted] = key_node.start_mark.line + 1
            walk(value_node, f"{dotted}.")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if root is not None:
        walk(root, "")
    return lines


def _all_keys(tree: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in tree.items():
        keys.append(f"{prefix}{key}")
        if isinstance(value, dict):
            keys.extend(_all_keys(value, f"{prefix}{key}."))
    return keys


def parse_set(assignment: str) -> tuple[list[str], Any]:
    """Parse one `--set a.b=value`; split on the first '=' only, value through yaml.safe_load."""
    if "=" not in assignment:
        raise ClueError(f"--set {assignment!r}: expected key=value, e.g. --set train.lr=3e-5")
    key, raw = assignment.split("=", 1)
    key = key.strip()
    if not key:
        raise ClueError(f"--set {assignment!r}: empty key")
    if not raw.strip():
        return key.split("."), raw  # whitespace is a value too (e.g. a keyword joiner of " ")
    try:
        value = _parse_yaml(raw, f"--set {key}")
    except AliasRefused:
        raise
    except ClueError:
        value = raw  # not YAML (e.g. "="): take the text as a string; the type check still applies
    return key.split("."), value


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {path[-1]: value}
    for part in reversed(path[:-1]):
        out = {part: out}
    return out


def merged_dict(
    task: str | None,
    config_files: list[str | Path] | None = None,
    sets: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    recipe: str | None = None,
) -> dict[str, Any]:
    """Merge all layers into a plain dict (what `clue config` prints and runs save)."""
    return merged_with_sources(task, config_files, sets, overrides, recipe)[0]


def merged_with_sources(
    task: str | None,
    config_files: list[str | Path] | None = None,
    sets: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    recipe: str | None = None,
) -> tuple[dict[str, Any], dict[str, str], RecipeLayer | None]:
    """Merge all layers; also return {dotted key: the layer that set it} and the recipe layer used.

    The recipe layer sits between the task file and --config. Which recipe row applies depends on the model,
    which any later layer may set, so the model is found first by merging without the recipe.
    """
    layer = None
    if recipe is not None and task is not None:
        from clue_runner.recipes import recipe_layer

        model = _merge_layers(task, config_files, sets, overrides, None)[0]["model"]
        layer = recipe_layer(recipe, task, str(model))
    tree, sources = _merge_layers(task, config_files, sets, overrides, layer)
    return tree, sources, layer


def _merge_layers(
    task: str | None,
    config_files: list[str | Path] | None,
    sets: list[str] | None,
    overrides: dict[str, Any] | None,
    recipe: RecipeLayer | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    tree = base_config()
    sources = dict.fromkeys(leaves(tree), "base")
    own_file = task_config(task) if task is not None else {}
    # A task file of the user's (tasks/custom.md) has no configs/tasks/ file: its settings are base's and the user's.
    if own_file:
        where = f"configs/tasks/{task}.yaml"
        _merge(tree, {k: v for k, v in own_file.items() if k != "task"}, where, sources=sources)
        own = own_file.get("task") or {}
        if not isinstance(own, dict):
            raise ClueError(f"{where}: task must be a mapping")
        tree["task"] = copy.deepcopy(own)
        sources = {k: v for k, v in sources.items() if not k.startswith("task")}
        sources.update(dict.fromkeys(leaves({"task": own}), where))
    if recipe is not None:
        _merge(tree, recipe.tree, f"recipe {recipe.recipe}", sources=sources)
        sources.update(recipe.sources)
    for path in config_files or []:
        text = _read_config_file(path)
        _merge(tree, load_yaml(path, text), str(path), lines=key_lines(text), sources=sources)
    for assignment in sets or []:
        keys, value = parse_set(assignment)
        _merge(tree, _nest(keys, value), f"--set {assignment}", sources=sources)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _merge(tree, _nest(dotted.split("."), value), f"--{dotted.split('.')[-1]}", sources=sources)
    return tree, sources


def _allowed_types(hint: Any) -> tuple[Any, ...]:
    return get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)


def _matches(value: Any, kind: Any) -> bool:
    if kind is type(None):
        return value is None
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, get_origin(kind) or kind)


def _check_types(section: Any, prefix: str = "") -> None:
    """Every value must have its field's declared type (keys whose default is null included)."""
    hints = get_type_hints(type(section))
    for item in fields(section):
        value = getattr(section, item.name)
        if is_dataclass(value):
            _check_types(value, f"{prefix}{item.name}.")
            continue
        allowed = _allowed_types(hints[item.name])
        if not any(_matches(value, kind) for kind in allowed):
            names = " or ".join(
                "null" if k is type(None) else getattr(k, "__name__", str(k)) for k in allowed
            )
            raise ClueError(f"{prefix}{item.name} must be {names}, got {short_repr(value)}")


# (key, lowest, highest, lowest allowed itself): the few values whose range types cannot express.
_RANGES: tuple[tuple[str, float, float, bool], ...] = (
    ("seed", 0, SEED_LIMIT - 1, True),
    ("train.epochs", 1, math.inf, True),
    ("train.max_steps", 1, math.inf, True),
    ("train.batch_size", 1, math.inf, True),
    ("train.lr", 0, math.inf, False),
    ("train.warmup_ratio", 0, 1, True),
    ("train.weight_decay", 0, math.inf, True),
    ("train.adam_eps", 0, math.inf, False),
    ("train.grad_accum", 1, math.inf, True),
    ("train.max_grad_norm", 0, math.inf, True),
    ("train.eval_every", 1, math.inf, True),
    ("train.dropout", 0, 1, True),
    ("train.log_every", 1, math.inf, True),
    ("train.save_every", 0, math.inf, True),
    ("train.keep_checkpoints", 1, math.inf, True),
    ("train.early_stop", 1, math.inf, True),
    (
        "data.max_len",
        1,
        math.inf,
        True,
    ),  # tasks refuse windows too small for their layout, with a better message
    ("data.max_train", 1, math.inf, True),
    ("data.max_eval", 1, math.inf, True),
    ("data.num_workers", 0, math.inf, True),
    ("eval.batch_size", 1, math.inf, True),
)


def build(tree: dict[str, Any]) -> RunConfig:
    """Turn a merged dict into the frozen RunConfig, checking every value's type and range."""
    cfg = RunConfig(
        seed=tree["seed"],
        model=tree["model"],
        train=TrainConfig(**_numbers(TrainConfig, tree["train"])),
        data=DataConfig(**_numbers(DataConfig, tree["data"])),
        eval=EvalConfig(**_numbers(EvalConfig, tree["eval"])),
        output=OutputConfig(**_numbers(OutputConfig, tree["output"])),
        task=dict(tree.get("task") or {}),
    )
    _check_types(cfg)
    from clue_runner.trackers import tracker_names

    tracker_names(cfg.output.report_to)  # unknown names now; a missing package when a run starts
    if cfg.train.precision not in PRECISIONS:
        raise ClueError(
            f"train.precision must be one of {', '.join(PRECISIONS)}, got {short_repr(cfg.train.precision)}"
        )
    if cfg.output.save_model not in SAVE_MODEL:
        raise ClueError(
            f"output.save_model must be one of {', '.join(SAVE_MODEL)}, got {cfg.output.save_model!r}"
        )
    for dotted, low, high, inclusive in _RANGES:
        value = _lookup(cfg, dotted)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise ClueError(f"{dotted} must be a finite number, got {value}")
        too_low = value < low if inclusive else value <= low
        if too_low or value > high:
            bound = f"at least {low}" if inclusive else f"above {low}"
            limit = f"{bound} and at most {high}" if high != math.inf else bound
            raise ClueError(f"{dotted} must be {limit}, got {value}")
    for dotted, allowed in (("train.optimizer", OPTIMIZERS), ("train.schedule", SCHEDULES)):
        value = getattr(cfg.train, dotted.split(".")[1])
        if value not in allowed:
            raise ClueError(f"{dotted} must be one of {', '.join(allowed)}, got {short_repr(value)}")
    if not cfg.model:
        raise ClueError("model must name a short name, hub id or folder")
    return cfg


def _numbers(section: type, values: dict[str, Any]) -> dict[str, Any]:
    """Parse text such as '1e-1' (YAML 1.1 reads it as a string) for float keys whose default is null, which
    the merge could not type-check against a default."""
    hints = get_type_hints(section)
    out = dict(values)
    for key, value in values.items():
        if isinstance(value, str) and float in _allowed_types(hints.get(key)):
            out[key] = _float(value) if _float(value) is not None else value
    return out


def _lookup(cfg: RunConfig, dotted: str) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def load(
    task: str | None,
    config_files: list[str | Path] | None = None,
    sets: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    recipe: str | None = None,
) -> RunConfig:
    """Merge every layer for `task` and return the frozen config."""
    return build(merged_dict(task, config_files, sets, overrides, recipe))


def to_yaml(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)


def to_commented_yaml(
    tree: dict[str, Any], sources: dict[str, str], prefix: str = "", indent: int = 0
) -> str:
    """`to_yaml` with each value followed by a comment naming the layer that set it (`clue config`)."""
    lines = []
    pad = "  " * indent
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:\n" + to_commented_yaml(value, sources, f"{dotted}.", indent + 1))
            continue
        text = yaml.safe_dump({key: value}, default_flow_style=True, allow_unicode=True, width=10**6)
        text = text.strip()[1:-1]  # "{key: value}" -> "key: value"
        where = sources.get(dotted)
        lines.append(f"{pad}{text}" + (f"  # {where}" if where else "") + "\n")
    return "".join(lines)
