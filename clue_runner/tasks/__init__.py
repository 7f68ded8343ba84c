"""One module per task, each ending with `TASK = ...`; `clue_runner.registry` finds them here and imports them
lazily by name. A module whose name starts with `_` is a helper, `base` is the contract; every other module in
this package is a task, so adding a task means adding its module (plus its config, card and fixtures), nothing
else.

The two lists below describe the CLUE benchmark itself, not any one task.
"""

# The order `clue tasks`, reports and `--tasks all` use: as the CLUE 1.1 leaderboard lists its tasks, CMNLI
# (CLUE 1.0) beside the other NLI task. Task modules not named here follow, by name.
CLUE_ORDER: tuple[str, ...] = (
    "afqmc",
    "tnews",
    "iflytek",
    "cmnli",
    "ocnli",
    "cluewsc2020",
    "csl",
    "cmrc2018",
    "chid",
    "c3",
    "cluener",
)

# Tasks whose test scores make up the CLUE 1.1 average (CMNLI was replaced by OCNLI on the 1.1 board).
CLUE11_TASKS: tuple[str, ...] = tuple(t for t in CLUE_ORDER if t != "cmnli")
