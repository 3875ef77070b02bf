"""A derivation allocates hundreds of thousands of small objects that all stay alive until it ends
(every value, its recipe, every step). CPython's cyclic garbage collector runs after each 700 net
allocations and, now and then, walks every live object: the longer the example, the more objects each
walk visits, so BPTT at T = 200 cost 2.4 × T = 100 instead of 2 × (``make bench``, "growth per
doubling"). The derivation makes no reference cycles worth collecting while it runs, so the collector
is paused for its duration and resumes (catching up at once) when it ends.
"""

from __future__ import annotations

import functools
import gc


def without_gc_pauses(function):
    """``function`` run with the cyclic garbage collector paused (if it was running), then resumed."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()
    return run
