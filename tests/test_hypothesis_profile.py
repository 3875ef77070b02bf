"""The property tests are reproducible in CI and explore elsewhere."""

from __future__ import annotations

import os

from hypothesis import Phase, settings


def test_ci_profile_is_derandomized_when_ci_is_set():
    in_ci = bool(os.environ.get("CI"))
    assert settings.default.derandomize is in_ci
    assert (Phase.shrink in settings.default.phases) is not in_ci
    assert settings.default.deadline is None
