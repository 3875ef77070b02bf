"""The garbage collector is paused while a derivation or a verification runs, and resumes after."""

from __future__ import annotations

import gc

import pytest

from symderiv import network, verify
from symderiv.api import derive
from symderiv.gcpause import without_gc_pauses


def test_paused_inside_and_resumed_after_even_on_error():
    seen = []

    @without_gc_pauses
    def work(fail):
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("boom")
        return 7

    assert gc.isenabled()
    assert work(False) == 7
    with pytest.raises(ValueError):
        work(True)
    assert seen == [False, False] and gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    try:
        without_gc_pauses(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_derive_and_verify_leave_the_collector_running():
    d = derive("rnn-text")
    verify.verify(d, finite_differences=False)
    assert gc.isenabled()
    assert getattr(network.derive, "__wrapped__", None) is not None          # the pause is applied
    assert getattr(verify.verify, "__wrapped__", None) is not None
