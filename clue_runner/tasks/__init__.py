"""One module per CLUE task; `clue_runner.registry` imports them lazily by name."""
