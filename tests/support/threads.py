"""Where another thread is: for tests that must act only once a thread has reached a wait."""

from __future__ import annotations

import sys
import threading

__all__ = ["blocked_in_wait"]


def blocked_in_wait(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked in a ``threading`` wait (``Condition.wait``, which
    ``Event.wait`` and ``Condition.wait_for`` use): its innermost frame is that ``wait``."""
    frame = sys._current_frames().get(thread.ident or -1)
    return (
        frame is not None
        and frame.f_code.co_name == "wait"
        and frame.f_code.co_filename == threading.__file__
    )
