"""The checker's verdicts on claims with known mistakes of every kind, and on correct claims.

Printed values are written here from tests/handcalc.py (mpmath by hand), rounded by the test's own
Decimal rounding; a mistake is made by hand (0.500 for tanh(0.5), a value computed from it, ...).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from mpmath import mp, mpf

import handcalc as H
from symderiv.testing import assert_claims, check_claims

TEXT = H.rnn_text()


def rounded(value, places: int) -> str:
    """The value with ``places`` decimals, rounded half to even (the test's own rounding)."""
    return str(Decimal(mp.nstr(value, 40, strip_zeros=False)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN))


def t(name, *index):
    return H.element(TEXT[name], index) if index else H.flat(TEXT[name])[0]


def results(claims, example="rnn-text"):
    report = check_claims(example, claims)
    return report, {r.label: r for r in report.results}


def test_correct_claims_raise_no_alarm():
    claims = {
        "a_1": "= 0.5",
        "h_1": "≈ " + rounded(t("h_1"), 3),
        "a_2": "≈ " + rounded(t("a_2"), 4),
        "h_3": rounded(t("h_3"), 6),                                  # no relation given: precision only
        "z_3": [rounded(v, 3) for v in TEXT["z_3"]],
        "yhat_3[3]": "≈ " + rounded(t("yhat_3", 3), 3),
        "L": "~ " + rounded(t("L"), 5),
        "dL/dW_hz[2,0]": "≈ " + rounded(t("dL/dW_hz", 2, 0), 4),
        "dL/dW_hz": [[rounded(row[0], 3)] for row in TEXT["dL/dW_hz"]],   # the 4 × 1 column as rows
        "dL/dW_xh(t=3)": ["= 0", "= 0", "≈ " + rounded(t("dL/dW_xh(t=3)", 0, 2), 4), "= 0"],
        "dL/dW_hh(t=1)": "= 0",                                       # dL/da_1·h_0 with h_0 = 0: exactly 0
        "dL/dW_hh(t=1)[0,0]": "= 0",
        "W_hz'": ["≈ " + rounded(row[0], 4) for row in TEXT["W_hz'"]],
        "dh_1/da_1": "≈ " + rounded(t("dh_1/da_1"), 3),
    }
    report, by = results(claims)
    assert {r.status for r in report.results} == {"ok"}
    assert report.exit_status == 0
    assert_claims("rnn-text", claims)          # does not raise


def test_wrong_root_value():
    report, by = results({"h_1": "≈ 0.500", "a_1": "= 0.5"})
    r = by["h_1"]
    assert (r.status, r.cause, r.problems) == ("wrong", "root", ("value",))
    assert r.origins == (r.id,)
    assert float(r.truth[0].approx) == pytest.approx(float(mp.tanh(mpf("0.5"))), rel=1e-15)
    assert report.exit_status == 1
    assert "0.462 to the digits printed" in report.line(r)


def test_wrong_inherited_names_the_wrong_input_and_the_first_wrong_step():
    # h_1 printed as 0.500; a_2 = -0.4 + 0.2 * 0.500 = -0.300 and h_2 = tanh(-0.300) follow from it
    h2_from_wrong = mp.tanh(mpf("-0.300"))
    report, by = results({"h_1": "≈ 0.500", "a_2": "≈ -0.300", "h_2": "≈ " + rounded(h2_from_wrong, 3)})
    assert by["h_1"].cause == "root"
    a2, h2 = by["a_2"], by["h_2"]
    assert (a2.status, a2.cause) == ("wrong", "inherited")
    assert [report.by_id[i].label for i in a2.inherited_from] == ["h_1"]
    assert (h2.status, h2.cause) == ("wrong", "inherited")
    assert [report.by_id[i].label for i in h2.inherited_from] == ["a_2"]
    assert [report.by_id[i].label for i in h2.origins] == ["h_1"]
    assert "first wrong step: h_1" in report.line(h2)


def test_rounding_is_not_an_error():
    # h_1 ≈ 0.46 is right to its digits; a_2 computed from it is -0.3080, but the truth is -0.30758
    assert rounded(t("a_2"), 4) == "-0.3076"
    report, by = results({"h_1": "≈ 0.46", "a_2": "≈ -0.3080"})
    assert by["h_1"].status == "ok"
    r = by["a_2"]
    assert r.status == "rounding" and r.cause is None
    assert "explained by rounding: the printed h_1 gives -0.308" in report.line(r)
    assert report.exit_status == 0


def test_zero_claimed_for_a_nonzero_value():
    da3 = t("dL/da_3")
    report, by = results({"dL/da_3": "≈ " + rounded(da3, 3), "dL/dW_hh(t=3)": "= 0"})
    r = by["dL/dW_hh(t=3)"]
    assert (r.status, r.cause, r.problems) == ("wrong", "root", ("zero",))
    assert float(r.truth[0].approx) == pytest.approx(float(da3 * t("h_2")), rel=1e-14)
    assert "not zero" in report.line(r)


def test_zero_inherited_from_a_zero():
    report, by = results({"dL/dh_3": "= 0", "dL/da_3": "= 0"})
    assert by["dL/dh_3"].cause == "root"
    r = by["dL/da_3"]
    assert (r.status, r.cause) == ("wrong", "inherited")
    assert [report.by_id[i].label for i in r.inherited_from] == ["dL/dh_3"]


def test_exact_equals_for_a_rounded_value():
    report, by = results({"h_1": "= " + rounded(t("h_1"), 3)})
    r = by["h_1"]
    assert (r.status, r.cause, r.problems) == ("wrong", "root", ("exact",))
    assert "right to the digits printed, but not exact" in report.line(r)


def test_exact_equals_taken_from_a_rounded_input():
    # a printed "≈ 0.4621" used as if exact: a_2 = -0.4 + 0.2 * 0.4621 = -0.30758 exactly
    report, by = results({"h_1": "≈ 0.4621", "a_2": "= -0.30758"})
    r = by["a_2"]
    assert (r.status, r.cause, r.problems) == ("wrong", "root", ("exact",))
    assert [report.by_id[i].label for i in r.taken_as_exact] == ["h_1"]
    assert "would be exact only if h_1 were exactly 0.4621" in report.line(r)


def test_approximately_zero_holds_with_a_note():
    report, by = results({"dL/dW_xh(t=3)[0,2]": "≈ -0.1", "dh_1/da_1": "≈ 1"}, example="rnn-text")
    assert by["dh_1/da_1"].status == "ok"
    ts = check_claims("rnn-timeseries", {"dh_3/da_3": "≈ 0"})
    r = ts.results[0]
    assert r.status == "ok" and r.note == "approx-zero"
    assert "1.502e-8" in ts.line(r)          # sech²(9.7 - ...) written out, not hidden
    assert float(r.truth[0].approx) == pytest.approx(float(H.rnn_timeseries()["dh_3/da_3"][0]), rel=1e-12)


def test_one_wrong_element_of_a_vector():
    yhat = TEXT["yhat_3"]
    printed = [rounded(v, 3) for v in yhat]
    printed[1] = "0.300"
    report, by = results({"yhat_3": printed})
    r = by["yhat_3"]
    assert r.status == "wrong" and [p.position for p in r.parts] == [1]
    assert "0.247 to the digits printed" not in report.line(r)    # the vector is shown whole
    assert rounded(yhat[1], 3) in report.line(r)


def test_scientific_notation_claims():
    ts = H.rnn_timeseries()
    good = check_claims("rnn-timeseries", {"dL/dW_xh(t=3)": "≈ 4.66e-7", "dL/dW_hh(t=1)": "= 0"})
    assert {r.status for r in good.results} == {"ok"}
    bad = check_claims("rnn-timeseries", {"dL/dW_xh(t=3)": "≈ 4.60e-7"})
    assert bad.results[0].status == "wrong"
    assert f"{float(ts['dL/dW_xh(t=3)'][0][0]):.3e}".replace("e-07", "e-7") in bad.line(bad.results[0])


def test_assert_claims_reports_wrong_lines():
    with pytest.raises(AssertionError) as info:
        assert_claims("rnn-text", {"h_1": "≈ 0.500", "a_1": "= 0.5"})
    message = str(info.value)
    assert message.startswith("1 of 2 printed numbers in claims are wrong (checked against rnn-text):")
    assert "wrong     h_1 ≈ 0.500" in message


def test_printed_inputs_outside_the_operations_domain():
    # ŷ_4 printed as 0: -log 0 has no value, so L cannot be recomputed from the printed numbers
    report, by = results({"yhat_3": ["1", "0", "0", "0"], "L": "5"})
    assert (by["L"].status, by["L"].cause) == ("wrong", "root")
    assert float(by["L"].truth[0].approx) == pytest.approx(float(t("L")), rel=1e-14)
    assert "gives" not in report.line(by["L"])


def test_entries_of_one_claim_explained_differently():
    # ŷ printed [1, 0, 0, 0] (wrong); ŷ - y is then [1, 0, 0, -1]: entry 0 follows exactly, entries 1 and 2
    # (printed 1) only within the rounding of the printed zeros, entry 3 (printed 1 for -1) not at all
    report, by = results({"yhat_3": ["1", "0", "0", "0"], "dL/dz_3": ["1", "1", "1", "1"]})
    line = report.line(by["dL/dz_3"])
    assert "dL/dz_3[0]: inherited from yhat_3: the printed yhat_3 gives 1, as printed" in line
    assert "dL/dz_3[1] and dL/dz_3[2]: inherited from yhat_3" in line and "within the rounding" in line
    assert "dL/dz_3[3]: root error" in line
