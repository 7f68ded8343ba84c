"""The task table (name -> module, found in `clue_runner.tasks` and imported lazily) and the model short-name
table."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING

from clue_runner.errors import ClueError, unknown
from clue_runner.tasks import CLUE11_TASKS

if TYPE_CHECKING:
    from clue_runner.tasks.base import Task


def _discover() -> dict[str, str]:
    """Task name -> module path for every task module in `clue_runner.tasks` (see its docstring), in CLUE order."""
    import clue_runner.tasks as package

    found = {
        m.name
        for m in pkgutil.iter_modules(package.__path__)
        if not m.name.startswith("_") and m.name != "base" and not m.ispkg
    }
    names = [n for n in package.CLUE_ORDER if n in found] + sorted(found - set(package.CLUE_ORDER))
    return {name: f"{package.__name__}.{name}" for name in names}


TASKS: dict[str, str] = _discover()

# Tasks whose test scores make up the CLUE 1.1 average.
LEADERBOARD_TASKS: tuple[str, ...] = tuple(t for t in CLUE11_TASKS if t in TASKS)

# Short names -> Hugging Face hub ids (docs/clue.md §8).
MODELS: dict[str, str] = {
    "bert-base-chinese": "google-bert/bert-base-chinese",
    "bert-wwm": "hfl/chinese-bert-wwm",
    "bert-wwm-ext": "hfl/chinese-bert-wwm-ext",
    "roberta-wwm-ext": "hfl/chinese-roberta-wwm-ext",
    "roberta-wwm-ext-large": "hfl/chinese-roberta-wwm-ext-large",
    "macbert-base": "hfl/chinese-macbert-base",
    "macbert-large": "hfl/chinese-macbert-large",
    "rbt3": "hfl/rbt3",
    "rbtl3": "hfl/rbtl3",
    "rbt6": "hfl/rbt6",
    "lert-small": "hfl/chinese-lert-small",
    "lert-base": "hfl/chinese-lert-base",
    "lert-large": "hfl/chinese-lert-large",
    "ernie-3.0-base-zh": "nghuyong/ernie-3.0-base-zh",
    "ernie-3.0-xbase-zh": "nghuyong/ernie-3.0-xbase-zh",
    "albert-chinese-tiny": "voidful/albert_chinese_tiny",
    "albert-chinese-small": "voidful/albert_chinese_small",
    "albert-chinese-base": "voidful/albert_chinese_base",
    "albert-chinese-large": "voidful/albert_chinese_large",
}

# Checkpoints whose tokenizer is a plain BERT WordPiece vocab although their model type says otherwise.
BERT_TOKENIZER_PREFIXES: tuple[str, ...] = ("clue/", "voidful/albert_chinese_", "uer/albert")


def task_names() -> list[str]:
    return list(TASKS)


def get_task(name: str) -> Task:
    """Import and return the task object for `name` (case-insensitive)."""
    key = name.lower()
    if key not in TASKS:
        raise unknown("task", name, TASKS)
    module = importlib.import_module(TASKS[key])
    return module.TASK


def resolve_task(
    arg: str, data_dir: str | Path | None = None, infer: bool = True
) -> tuple[Task, Path | None]:
    """The task a TASK argument names, and its data folder as far as known.

    `arg` is a registered name, or a path to a task file (`*.yaml`, see tasks/_custom.py) whose data folder is
    `data_dir`, else the file's own folder. With `infer`, a task file's classify labels that it does not list are
    read from its train file (commands that need no data, such as `clue config`, pass False).
    """
    from clue_runner.tasks._custom import build_task, is_task_file, load_task_file

    given = Path(data_dir).expanduser() if data_dir else None
    if not is_task_file(arg):
        return get_task(arg), given
    spec = load_task_file(arg, reserved=list(TASKS))
    folder = given or spec.path.parent
    return build_task(spec, folder if infer else None), folder


def task_files(folder: str | Path) -> list[Task]:
    """The tasks of every task file (`*.yaml`, `*.yml`) in `folder`, by file name; a broken task file is an
    error, a YAML file without a `head` key (a `--config` file kept beside the task files) is skipped."""
    import logging

    from clue_runner import config
    from clue_runner.tasks._custom import SUFFIXES, build_task, load_task_file

    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ClueError(f"--include: not a folder: {path}")
    tasks = []
    for found in sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            is_task = "head" in config.load_yaml(found)
        except ClueError:
            is_task = True  # unreadable: the task-file reader says why, naming the line
        if not is_task:
            logging.getLogger("clue_runner").warning("%s: no 'head' key, so not a task file; skipped", found)
            continue
        tasks.append(build_task(load_task_file(found, reserved=list(TASKS)), None))
    return tasks


def resolve_model(name: str) -> str:
    """A local folder (as given), a short name's hub id, or any `org/name` hub id.

    A bare word that is neither a folder nor a short name is refused with a suggestion: a typo would
    otherwise surface as a confusing hub error.
    """
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in MODELS:
        return MODELS[name]
    if "/" in name:
        if name.startswith((".", "/", "~")):
            raise ClueError(f"model folder not found: {name}")
        return name
    raise unknown("model short name", name, MODELS)


def needs_bert_tokenizer(model_id: str, model_type: str | None) -> bool:
    """ALBERT-zh and `clue/*` checkpoints ship a BERT vocab.txt: AutoTokenizer would pick the wrong class."""
    return model_id.startswith(BERT_TOKENIZER_PREFIXES) or model_type == "albert"
