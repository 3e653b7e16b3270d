"""Start-up state out of the garbage collector's way, once the process is warm.

After the first run of a request's steps the process has imported every SDK the flow uses
(they load on first use, to keep cold starts short) and built its adapters: objects that live as
long as the process. CPython's full collection walks every tracked object each time, and here
that took 50-100 ms, holding the GIL: the slowest request of every benchmark run was the one
that met it. ``gc.freeze()`` moves the objects alive at that moment to a generation the
collector never scans; later collections walk only what was made since. Garbage that exists at
that moment is kept too (no ``gc.collect()`` first: that would be the same pause, on whichever
request comes next), a one-off and bounded.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_frozen = False


def freeze_once() -> bool:
    """Freeze what is alive now, the first time only; True if this call did."""
    global _frozen
    with _lock:
        if _frozen:
            return False
        _frozen = True
    gc.freeze()
    return True
