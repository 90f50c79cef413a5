"""The time limit of a check (``timeout``): an alarm that stops the model, and a watchdog for
model code that disarms the alarm."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from symcheck.core.errors import Interrupted, ModelError, SpecError, Wording, door


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Interrupted` into whatever runs after ``seconds`` (SIGALRM: the main
    thread of a POSIX process), and report it as a model error."""
    if seconds is None:
        yield
        return
    import signal
    import threading

    # ``seconds`` is finite, > 0 and at most a week: the request's Measure was validated
    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        raise SpecError("a time limit needs the main thread of a POSIX process",
                        argument="timeout", value=seconds)

    def expire(signum: int, frame: Any) -> None:
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    finished = threading.Event()
    threading.Thread(target=_watchdog, args=(finished, float(seconds), door()), daemon=True,
                     name="symcheck-timeout").start()
    try:
        yield
    except Interrupted:
        raise ModelError(f"the check did not finish within {seconds:g} s (a model that hangs, "
                         "at import or in a call?); it was stopped", argument="timeout",
                         value=seconds) from None
    finally:
        finished.set()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: how long after the timeout the watchdog ends the process when the alarm did not stop the model
WATCHDOG_GRACE = 5.0
#: os._exit as it is before any model code runs (model code may not call it, see
#: :func:`~symcheck.core.files.model_stdout_to_stderr`)
_REAL_EXIT = os._exit


def _watchdog(finished: Any, seconds: float, wording: Wording) -> None:
    """The last resort of the time limit: a model that replaced symcheck's alarm handler, or
    holds the process otherwise, ends it here, with exit 2 and one line in ``wording`` (the
    door that set the limit: a thread does not inherit it)."""
    if finished.wait(seconds + WATCHDOG_GRACE):
        return
    stuck = ModelError(f"the check did not stop within {seconds:g} s and did not answer the "
                       f"alarm for {WATCHDOG_GRACE:g} s more (model code that replaced or blocks "
                       "it?); the process was ended", argument="timeout", value=seconds)
    with contextlib.suppress(Exception):
        sys.stderr.write(f"symcheck: error: {stuck.worded(wording)}\n")
        sys.stderr.flush()
    _REAL_EXIT(2)
