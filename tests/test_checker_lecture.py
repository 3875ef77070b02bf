"""The checker on the reference lecture's printed numbers (the claims files shipped in symderiv/claims).

Which printed numbers are wrong is decided here independently: every claim is compared with the
mpmath computation of tests/handcalc.py, reading the printed strings with a parser of our own.
Root versus inherited is decided by hand for each wrong claim (the reasons are in the comments).
"""

from __future__ import annotations

import json
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from mpmath import mpf

import handcalc as H
from conftest import ROOT, assert_close, run_cli

CLAIMS = ROOT / "symderiv" / "claims"
TRUTH = {"rnn-text": H.rnn_text, "rnn-timeseries": H.rnn_timeseries, "cnn-image": H.cnn_image,
         "cnn-image-sigmoid": lambda: H.cnn_image("sigmoid")}


def printed_entries(path: Path):
    """(key, group, [(printed string, relation)]) for every claim, read straight from the TOML."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))["claims"]
    for key, value in data.items():
        if isinstance(value, dict) and "value" not in value:
            for inner, v in value.items():
                yield inner, key, _strings(v)
        else:
            yield key, "", _strings(value)


def _strings(value, relation=None):
    if isinstance(value, dict):
        return _strings(value["value"], value.get("relation"))
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, relation)]
    text = value.strip()
    rel = relation
    if text[0] in "=≈~":
        rel, text = ("=" if text[0] == "=" else "≈"), text[1:].strip()
    return [(text, rel)]


def truth_of(key: str, truth: dict) -> list:
    m = re.fullmatch(r"(.*?)(?:\[([\d,]+)\])?", key)
    value = truth[m.group(1)]
    if m.group(2) is None:
        return H.flat(value)
    index = [int(i) for i in m.group(2).split(",")]
    depth, probe = 0, value
    while isinstance(probe, list):
        depth, probe = depth + 1, probe[0]
    return [H.element(value, [0] * (depth - len(index)) + index)]


def judged_by_hand(text: str, relation, t) -> tuple[bool, bool, bool]:
    """(the true value rounds to the printed one (half a unit of its last digit), a printed '=' is exact,
    a printed '= 0' is for a value that is not zero)."""
    d = Decimal(text)
    half = Decimal(5) * Decimal(10) ** (d.as_tuple().exponent - 1)
    value_ok = abs(t - mpf(str(d))) <= mpf(str(half))
    exact_ok = relation != "=" or abs(t - mpf(str(d))) < mpf("1e-40")
    return value_ok, exact_ok, relation == "=" and d == 0 and abs(t) > mpf("1e-40")


# Claims right to their digits whose "=" holds only with wrong numbers before them, decided by hand: they
# stay wrong (a rounded "=" carried over from inexact claims only would be inexact).
CARRIED_FROM_WRONG = {
    "rnn-text": {"W_xh'", "W_hh'"},            # = W - 0.1·(the printed zero gradients, which are wrong)
    "rnn-timeseries": {"W_xh'", "W_hh'"},      # = 0.6 and 0.4: unchanged only with the gradients "= 0"
}


def by_hand(example: str, claims_name: str) -> dict:
    """(key, group) -> (the verdict expected, the true values)."""
    truth = TRUTH[example]()
    out = {}
    for key, group, printed in printed_entries(CLAIMS / f"{claims_name}.claims.toml"):
        values = truth_of(key, truth)
        assert len(values) == len(printed), key
        judged = [judged_by_hand(p, r, t) for (p, r), t in zip(printed, values)]
        if all(v and e for v, e, _ in judged):
            status = "ok"
        elif not all(v for v, _, _ in judged) or any(z for _, _, z in judged):
            status = "wrong"                    # a number off in its digits, or a false exact zero
        elif key in CARRIED_FROM_WRONG.get(example, ()):
            status = "wrong"
        else:
            status = "inexact"                  # right to its digits, but '=' before a rounded value
        out[(key, group)] = (status, values)
    return out


def checked(example: str, claims_name: str):
    proc = run_cli("check", example, CLAIMS / f"{claims_name}.claims.toml", "--format", "json", "--no-fd")
    return proc.returncode, json.loads(proc.stdout)


# Root errors (and the first "=" before a rounded value: an inexact root), decided by hand. Everything else
# the lecture gets wrong, or writes with "=" though rounded, follows from an earlier such number (inherited).
ROOTS = {
    "rnn-text": {
        "yhat_3",        # softmax values written with "=": they are rounded
        "L",             # -log(0.259) = 1.3509 and the true L = 1.3513: both 1.351, not 1.350
        "dL/dW_hz",      # (ŷ - y)·h_1 instead of (ŷ - y)·h_3
        "dL/dh_3",       # "no gradient flows back": W_hzᵀ(ŷ - y) = -0.147, not 0.0
    },
    "rnn-timeseries": {
        "a_2", "a_3",    # 10 and 9.7 are exact only with h_1, h_2 rounded to 1.0
        "z_4",           # 1.0 is exact only with h_3 rounded to 1.0
        "dL/dW_xh(t=3)", "dL/dW_hh(t=3)",   # "≈ 0" for dL/da_3 turned into "= 0"
        "dL/da_2", "dL/da_1",               # "≈ 0" for dh_t/da_t turned into "= 0"
    },
    "cnn-image": {
        "yhat",          # the "=" restatement of the rounded softmax outputs
        "dL/dW[1,2]",    # 0.074: the fourth entry's size with the wrong sign, at the third place
        "dL/dh''",       # rounded gradients written with "="
        "dL/dh'",        # the gradient of the tied window (0,0) is dropped: some cell must get 0.0074
        "dL/dk",         # [1,1] = -0.030, but its printed inputs give -0.026 and the truth is -0.0266
    },
}


@pytest.mark.parametrize("example", ["rnn-text", "rnn-timeseries", "cnn-image"])
def test_every_mistake_found_and_no_false_alarm(example):
    expected = by_hand(example, example)
    status, report = checked(example, example)
    assert status == 1
    got = {(c["key"], c["where"]): c for c in report["claims"]}
    assert set(got) == set(expected)
    for key, (verdict, values) in expected.items():
        claim = got[key]
        assert claim["status"] == verdict, (key, claim["explanation"])
        assert_close(H.flat(claim["true"]) if isinstance(claim["true"], list) else [claim["true"]],
                     [float(v) for v in values], rtol=1e-12, what=str(key))
    roots = {c["key"] for c in report["claims"] if c["cause"] == "root"}
    assert roots == ROOTS[example]
    flagged = {c["key"] for c in report["claims"] if c["status"] in ("wrong", "inexact")}
    assert all(c["cause"] == "inherited" for c in report["claims"] if c["key"] in flagged - ROOTS[example])
    summary = report["summary"]
    assert (summary["inexact"], summary["wrong"]) == tuple(
        sum(1 for s, _ in expected.values() if s == v) for v in ("inexact", "wrong"))
    assert status == (1 if summary["wrong"] else 0)


def test_text_example_explanations():
    _, report = checked("rnn-text", "rnn-text")
    by_key = {c["key"]: c for c in report["claims"]}
    assert "h_1 in place of h_3" in by_key["dL/dW_hz"]["explanation"]
    assert by_key["dL/da_3"]["inherited_from"] == ["dL/dh_3"]
    assert by_key["W_hz'"]["inherited_from"] == ["dL/dW_hz"]
    # the zeros back through time all trace to the one root: dL/dh_3 printed as 0.0
    for key in ("dL/dh_2", "dL/da_2", "dL/dW_xh(t=2)", "dL/dW_hh(t=2)", "dL/dh_1", "dL/da_1", "dL/dW_xh(t=1)",
                "W_xh'", "W_hh'"):
        assert by_key[key]["first_wrong"] == ["dL/dh_3"], key
    # dL/dW_hh(t=1) = dL/da_1·h_0 = 0 exactly: printed "= 0" is right
    assert by_key["dL/dW_hh(t=1)"]["status"] == "ok"
    # "= 0" for -0.139: printed without decimals the value is right, but zero it is not
    assert by_key["dL/da_3"]["problems"] == ["zero"]
    assert by_key["dL/dh_3"]["problems"] == ["value"]          # "≈ 0.0": one decimal, off by 0.15
    assert by_key["dL/dz_3"]["problems"] == ["exact"]


def test_time_series_explanations():
    _, report = checked("rnn-timeseries", "rnn-timeseries")
    by_key = {c["key"]: c for c in report["claims"]}
    # exact zeros claimed for gradients that are 4.7e-7, 1.6e-15, ...; their true values are reported
    truth = H.rnn_timeseries()
    assert by_key["dL/dW_xh(t=3)"]["problems"] == ["zero"]
    assert_close(by_key["dL/dW_xh(t=3)"]["true"], float(truth["dL/dW_xh(t=3)"][0][0]), rtol=1e-12)
    assert "dL/da_3 were exactly 0" in by_key["dL/dW_xh(t=3)"]["explanation"]
    assert by_key["W_xh'"]["inherited_from"] == ["dL/dW_xh(t=3)", "dL/dW_xh(t=2)", "dL/dW_xh(t=1)"]
    # dL/dW_hh(t=1) is exactly 0 (h_0 = 0), so W_hh' inherits only from t = 3 and t = 2
    assert by_key["dL/dW_hh(t=1)"]["status"] == "ok"
    assert by_key["W_hh'"]["inherited_from"] == ["dL/dW_hh(t=3)", "dL/dW_hh(t=2)"]
    assert by_key["yhat_4"]["inherited_from"] == ["z_4"]
    assert by_key["dL/dz_4"]["inherited_from"] == ["yhat_4"]      # through the unclaimed dL/dyhat_4
    # "≈ 0" for 1.5e-8 holds to the digits printed, with a note
    assert by_key["dh_3/da_3"]["status"] == "ok"
    assert "holds only to the digits printed" in by_key["dh_3/da_3"]["explanation"]


def test_image_example_parts():
    _, report = checked("cnn-image", "cnn-image")
    by_key = {c["key"]: c for c in report["claims"]}
    dk = by_key["dL/dk"]["explanation"]
    assert "dL/dk[1,1]: root error" in dk
    assert "dL/dk[2,0]: explained by rounding" in dk       # -0.023 is what the printed dL/dh give
    dh = by_key["dL/dh'"]["explanation"]
    assert "dL/dh'[0,0]: root error" in dh and "is a tie" in dh


def test_image_numbers_against_the_sigmoid_reading():
    """The lecture's text names a sigmoid output; its numbers are softmax ones. Checked against the
    sigmoid example, the first wrong numbers are the outputs, and the checker says softmax gives them."""
    expected = by_hand("cnn-image-sigmoid", "cnn-image")
    status, report = checked("cnn-image-sigmoid", "cnn-image")
    assert status == 1
    got = {(c["key"], c["where"]): c for c in report["claims"]}
    for key, (verdict, _) in expected.items():
        assert got[key]["status"] == verdict, key
    by_key = {c["key"]: c for c in report["claims"] if c["where"] != "loss" or c["key"] != "yhat"}
    assert "the printed numbers are what softmax(z) gives instead of σ(z)" in by_key["yhat"]["explanation"]
    assert "checked against cnn-image-sigmoid" in run_cli("check", "cnn-image-sigmoid",
                                                          CLAIMS / "cnn-image.claims.toml", "--no-fd").stdout
    for key in ("dL/dz", "dL/dh'''", "dL/dk"):
        assert by_key[key]["cause"] == "inherited" and by_key[key]["first_wrong"] == ["yhat"], key
