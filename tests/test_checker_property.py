"""Properties: a correct claims file with one value changed anywhere has exactly that claim flagged, and
the verdicts do not depend on the order of the claims.

The correct printed values come from the independent float64 NumPy reference (not from the
derivation the checker reads), rounded by Python's own formatting to a few decimals.
"""

from __future__ import annotations

import functools
import tomllib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from symderiv.api import derive, derive_text
from symderiv.testing import check_claims
from symderiv.verify import reference_for
from test_rnn import rnn_specs

EXAMPLES = ["rnn-text", "rnn-timeseries", "cnn-image", "cnn-image-sigmoid",
            str(ROOT / "docs" / "examples" / "lecturer-repo" / "slides" / "forecast.toml")]


@functools.lru_cache(maxsize=None)
def example(name: str):
    return _with_reference(derive(name))


def _with_reference(derivation):
    ref = reference_for(derivation)
    with np.errstate(all="ignore"):
        values = ref.backward(ref.float_parameters())
    usable = {}
    for step in derivation.steps:
        if step.op is None or step.name not in values or np.size(values[step.name]) != step.value.size:
            continue
        v = np.asarray(values[step.name], dtype=float).reshape(step.shape)
        if np.all(np.isfinite(v)) and np.max(np.abs(v), initial=0) < 1e6:
            usable[step.name] = v
    return derivation, usable


def _printed(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


@st.composite
def claim_sets(draw, derivation, values):
    names = draw(st.lists(st.sampled_from(sorted(values)), min_size=2, max_size=min(10, len(values)), unique=True))
    claims, elements = {}, []
    for name in names:
        v = values[name]
        decimals = draw(st.integers(2, 6))
        relation = draw(st.sampled_from(["", "≈ ", "~ "]))
        if v.size > 1 and draw(st.booleans()):
            index = tuple(draw(st.integers(0, n - 1)) for n in v.shape)
            key = f"{name}[{','.join(map(str, index))}]"
            claims[key] = relation + _printed(float(v[index]), decimals)
            elements.append((key, None, decimals))
        elif v.shape == ():
            claims[name] = relation + _printed(float(v), decimals)
            elements.append((name, None, decimals))
        else:
            claims[name] = np.vectorize(lambda x: relation + _printed(float(x), decimals), otypes=[object])(v).tolist()
            elements.append((name, tuple(draw(st.integers(0, n - 1)) for n in v.shape), decimals))
    return claims, elements


def _change(claims: dict, key: str, position, decimals: int, sign: int) -> None:
    """Move one printed number far beyond its precision (by a quarter of it, at least 200 last digits)."""
    def moved(text: str) -> str:
        relation = text[:2] if text[:1] in "≈~" else ""
        number = float(text[len(relation):])
        delta = max(0.25 * abs(number), 200 * 10.0 ** -decimals)
        return relation + _printed(number + sign * delta, decimals)

    if position is None:
        claims[key] = moved(claims[key])
        return
    target = claims[key]
    for i in position[:-1]:
        target = target[i]
    target[position[-1]] = moved(target[position[-1]])


def _assert_only_changed_flagged(derivation, claims, key):
    report = check_claims(derivation, claims)
    flagged = {r.label: (r.status, r.cause) for r in report.results if r.status != "ok"}
    assert flagged == {key: ("wrong", "root")}, (claims, [report.line(r) for r in report.results])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), name=st.sampled_from(EXAMPLES))
def test_one_changed_value_is_flagged_in_the_examples(data, name):
    derivation, values = example(name)
    claims, elements = data.draw(claim_sets(derivation, values))
    report = check_claims(derivation, claims)
    assert all(r.status == "ok" for r in report.results), [report.line(r) for r in report.results]
    key, position, decimals = data.draw(st.sampled_from(elements))
    _change(claims, key, position, decimals, data.draw(st.sampled_from([1, -1])))
    _assert_only_changed_flagged(derivation, claims, key)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), text=rnn_specs())
def test_one_changed_value_is_flagged_in_random_networks(data, text):
    derivation, values = _with_reference(derive_text(text))
    claims, elements = data.draw(claim_sets(derivation, values))
    report = check_claims(derivation, claims)
    assert all(r.status == "ok" for r in report.results), [report.line(r) for r in report.results]
    key, position, decimals = data.draw(st.sampled_from(elements))
    _change(claims, key, position, decimals, data.draw(st.sampled_from([1, -1])))
    _assert_only_changed_flagged(derivation, claims, key)


# -- one verdict whatever the order ------------------------------------------------------------------------
def _entries(path) -> list[tuple[str, str, object]]:
    """(group, key, value) of every claim of a claims file, in file order."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))["claims"]
    out = []
    for key, value in data.items():
        if isinstance(value, dict) and "value" not in value:
            out += [(key, inner, v) for inner, v in value.items()]
        else:
            out.append(("", key, value))
    return out


ORDER_FILES = {
    "rnn-text": ROOT / "symderiv" / "claims" / "rnn-text.claims.toml",
    "rnn-timeseries": ROOT / "symderiv" / "claims" / "rnn-timeseries.claims.toml",
    "cnn-image": ROOT / "symderiv" / "claims" / "cnn-image.claims.toml",
}
# the same element printed twice with different precision, and a claim that reads it (the order case)
ORDER_EXTRA = [("", "yhat_3[3]", "0.26"), ("", "yhat_3", ["0.24123", "0.24698", "0.25288", "0.25891"]),
               ("", "L", "1.347"), ("", "h_1", "≈ 0.46"), ("", "h_1[0]", "= 0.462"), ("", "a_2", "≈ -0.3080")]


def _verdicts(derivation, entries) -> dict:
    """(group, key) -> everything the checker decides about the claim, as sets (the order of lines aside)."""
    claims = {f"{group} #{n}": {key: value} for n, (group, key, value) in enumerate(entries)}
    report = check_claims(derivation, claims)
    out = {}
    for (group, key, _), r in zip(entries, report.results):
        labels = lambda ids: frozenset((entries[i][0], entries[i][1]) for i in ids)   # noqa: E731
        out[(group, key)] = (r.status, r.cause, r.problems, labels(r.inherited_from), labels(r.origins),
                             labels(r.used), tuple(p.verdict for p in sorted(r.parts, key=lambda p: p.position)))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(ORDER_FILES) + ["order"]))
def test_verdicts_do_not_depend_on_the_order_of_the_claims(data, name):
    if name == "order":
        derivation, entries = example("rnn-text")[0], ORDER_EXTRA
    else:
        derivation, entries = example(name)[0], _entries(ORDER_FILES[name])
    shuffled = data.draw(st.permutations(entries))
    assert _verdicts(derivation, shuffled) == _verdicts(derivation, entries)
