"""`python -m clue_runner ...` (and `accelerate launch -m clue_runner ...`)."""

from clue_runner.cli import main

main()
