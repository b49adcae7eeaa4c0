"""What a running service is waiting on: ``kill -USR1 <pid>`` logs the stack of every green thread.

A nameko service is one OS thread running many eventlet green threads (the queue consumer, one per
worker, timers). When it stops answering without an error, the stacks say where each one waits.
"""

from __future__ import annotations

import gc
import logging
import signal
import traceback

log = logging.getLogger(__name__)


def green_stacks() -> str:
    """Every live green thread's stack, innermost call last, separated by blank lines."""
    import greenlet

    out = []
    for obj in gc.get_objects():
        try:
            frame = obj.gr_frame if isinstance(obj, greenlet.greenlet) else None
        except ReferenceError:  # a weak proxy whose object is gone
            continue
        if frame is not None:
            out.append(f"green thread {obj!r}:\n" + "".join(traceback.format_stack(frame)))
    current = "".join(traceback.format_stack())
    out.append(f"current:\n{current}")
    return "\n".join(out)


def _dump(signum, frame) -> None:
    log.warning("stacks on signal %s:\n%s", signum, green_stacks())


def install(signum: int = signal.SIGUSR1) -> None:
    """Dump the stacks on `signum`. Outside the main OS thread (where signal handlers cannot be set)
    it does nothing."""
    try:
        signal.signal(signum, _dump)
    except ValueError:
        log.debug("no stack dump on signal %s outside the main thread", signum)
