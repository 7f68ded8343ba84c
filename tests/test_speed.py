"""Speed helpers keep behaviour: the GC pause around featurisation restores the collector's state."""

from __future__ import annotations

import gc

import pytest

from clue_runner.runner import gc_paused


def test_gc_paused_restores_the_collector_even_after_an_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("encode failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()
