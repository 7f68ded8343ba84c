"""SIGTERM and Ctrl-C during training: finish the current optimizer step, checkpoint, stop.

A cluster scheduler sends SIGTERM some time before SIGKILL; a user presses Ctrl-C. Either only sets a flag that
the training loop reads at each optimizer-step boundary (and shares with the other processes of a launch), so the
run stops cleanly with a checkpoint to resume from. A second Ctrl-C does not wait: it raises KeyboardInterrupt at
once.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger("clue_runner")

HANDLED = (signal.SIGTERM, signal.SIGINT)


class StopSignals:
    """While active (`with StopSignals() as stop:`), SIGTERM / SIGINT set `stop.signum` instead of killing."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @property
    def exit_code(self) -> int:
        """The shell convention for a process ended by this signal: 128 + number (143 SIGTERM, 130 SIGINT)."""
        return 128 + (self.signum or 0)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt  # the second Ctrl-C: stop waiting for the step to end
            return
        self.signum = signum
        log.warning(
            "%s received: stopping after the current optimizer step and writing a checkpoint%s",
            signal.Signals(signum).name,
            " (Ctrl-C again to exit at once)" if signum == signal.SIGINT else "",
        )

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # signals can only be handled there
            for signum in HANDLED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
