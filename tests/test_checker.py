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


def test_exact_equals_for_a_rounded_value_is_inexact_not_wrong():
    report, by = results({"h_1": "= " + rounded(t("h_1"), 3)})
    r = by["h_1"]
    assert (r.status, r.cause, r.problems) == ("inexact", "root", ("exact",))
    assert report.line(r).startswith("inexact   h_1 = 0.462: the true value is ≈ 0.4621: right to the digits "
                                     "printed, but not exact (write ≈); a rounded value is first written with '=' here")
    assert report.exit_status == 0 and report.summary() == "1 claim: 0 ok, 0 rounding, 1 inexact, 0 wrong"
    strict = check_claims("rnn-text", {"h_1": "= " + rounded(t("h_1"), 3)}, strict=True)
    assert strict.results[0].status == "inexact" and strict.exit_status == 1
    with pytest.raises(AssertionError, match="are wrong or inexact"):
        assert_claims("rnn-text", {"h_1": "= " + rounded(t("h_1"), 3)}, strict=True)
    assert_claims("rnn-text", {"h_1": "= " + rounded(t("h_1"), 3)})          # not strict: passes


def test_exact_equals_taken_from_a_rounded_input():
    # a printed "≈ 0.4621" used as if exact: a_2 = -0.4 + 0.2 * 0.4621 = -0.30758 exactly
    assert Decimal("-0.4") + Decimal("0.2") * Decimal("0.4621") == Decimal("-0.30758")
    report, by = results({"h_1": "≈ 0.4621", "a_2": "= -0.30758"})
    r = by["a_2"]
    assert (r.status, r.cause, r.problems) == ("inexact", "root", ("exact",))
    assert [report.by_id[i].label for i in r.taken_as_exact] == ["h_1"]
    assert "would be exact only if h_1 were exactly 0.4621" in report.line(r)


def test_inexact_carried_over_from_an_inexact_claim_only():
    # yhat_3 printed with "=" to 3 decimals (right to its digits); dL/dz_3 = yhat_3 - y_3 from those numbers is
    # exact only with the printed yhat_3 taken as exact: inexact too, not wrong
    yhat = TEXT["yhat_3"]
    printed = [rounded(v, 3) for v in yhat]
    dz = [mpf(p) - (1 if i == 3 else 0) for i, p in enumerate(printed)]
    report, by = results({"yhat_3": ["= " + p for p in printed], "dL/dz_3": ["= " + rounded(v, 3) for v in dz]})
    assert (by["yhat_3"].status, by["yhat_3"].cause) == ("inexact", "root")
    r = by["dL/dz_3"]
    assert (r.status, r.cause, r.problems) == ("inexact", "inherited", ("exact",))
    assert [report.by_id[i].label for i in r.inherited_from] == ["yhat_3"]
    assert report.exit_status == 0


def test_inexact_carried_over_from_a_wrong_claim_stays_wrong():
    # dL/dh_3 printed as 0.0 (wrong: -0.147); dL/da_3 = 0 follows from it, and W_hh' = 0.2 "=" is exact only
    # with the wrong zeros: right to its one decimal (0.1970), but carried over from wrong numbers
    assert rounded(t("W_hh'"), 1) == "0.2"
    report, by = results({"dL/dh_3": "≈ 0.0", "dL/dW_hh(t=3)": "= 0", "dL/dW_hh(t=2)": "= 0", "W_hh'": "= 0.2"})
    assert by["dL/dh_3"].status == "wrong"
    r = by["W_hh'"]
    assert (r.status, r.cause, r.problems) == ("wrong", "inherited", ("exact",))
    assert {report.by_id[i].label for i in r.inherited_from} == {"dL/dW_hh(t=3)", "dL/dW_hh(t=2)"}


def test_float64_printout_is_judged_at_the_digits_float64_holds():
    # what a student pastes from NumPy: repr(float(tanh(0.5))) has 17 digits, the 17th only the binary rounding
    h1 = mp.tanh(mpf("0.5"))
    pasted = repr(float(h1))
    assert len(pasted.lstrip("0.")) == 17 and mpf(pasted) != h1
    assert abs(mpf(pasted) - h1) > mpf("0.5e-17")                 # wrong at its last printed digit ...
    report, by = results({"h_1": pasted, "a_2": repr(float(t("a_2")))})
    assert {r.status for r in report.results} == {"ok"}             # ... right at the 15 digits float64 holds
    exact_claimed = check_claims("rnn-text", {"h_1": "= " + pasted})
    assert exact_claimed.results[0].status == "inexact"
    # a printout 1e-14 off is wrong however many digits it shows
    off = mp.nstr(h1 + mpf("1e-14"), 17)
    assert check_claims("rnn-text", {"h_1": off}).results[0].status == "wrong"


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


# -- one verdict whatever the order of the claims --------------------------------------------------------
ORDER_CLAIMS = [("yhat_3[3]", "0.26"), ("yhat_3", ["0.24123", "0.24698", "0.25288", "0.25891"]), ("L", "1.347")]


@pytest.mark.parametrize("order", [(0, 1, 2), (1, 0, 2), (2, 1, 0), (1, 2, 0)])
def test_an_element_printed_twice_gives_one_verdict_in_any_order(order):
    # the printed ŷ_3[3] = 0.26 and 0.25891 are both right to their digits; L = -log ŷ_3[3] is 1.3513, and
    # printed 1.347 is what the coarser 0.26 gives (-log 0.26 = 1.3471): rounding, whichever claim comes first
    assert rounded(t("yhat_3", 3), 2) == "0.26" and rounded(t("yhat_3", 3), 5) == "0.25891"
    assert rounded(-mp.log(mpf("0.26")), 3) == "1.347" != rounded(t("L"), 3) == "1.351"
    claims = dict(ORDER_CLAIMS[i] for i in order)
    report, by = results(claims)
    assert {k: r.status for k, r in by.items()} == {"yhat_3[3]": "ok", "yhat_3": "ok", "L": "rounding"}
    assert [report.by_id[i].label for i in by["L"].used] == ["yhat_3[3]"]
    assert float(by["L"].truth[0].approx) == pytest.approx(float(t("L")), rel=1e-14)
    assert report.exit_status == 0


def test_same_value_printed_by_two_claims_counts_both_as_sources():
    # h_1 printed twice (≈ and =): a_2 = -0.4 + 0.2·0.46 = -0.308 follows from both, whichever comes first
    assert rounded(t("h_1"), 2) == "0.46" and rounded(t("a_2"), 4) == "-0.3076"
    for claims, names in (({"h_1": "≈ 0.46", "h_1[0]": "= 0.46", "a_2": "≈ -0.3080"}, "h_1 and h_1[0]"),
                          ({"h_1[0]": "= 0.46", "a_2": "≈ -0.3080", "h_1": "≈ 0.46"}, "h_1[0] and h_1")):
        report, by = results(claims)
        assert by["h_1[0]"].status == "inexact" and by["h_1"].status == "ok"
        assert by["a_2"].status == "rounding"
        assert {report.by_id[i].label for i in by["a_2"].used} == {"h_1", "h_1[0]"}
        assert f"explained by rounding: the printed {names} give -0.308" in report.line(by["a_2"])


# -- indices, vectors and zero matrices as printed -------------------------------------------------------
def test_index_on_a_one_by_one_matrix():
    # dL/dW_hz of the time series is 1 × 1: [0] and [0,0] name its one element, as [2] names the third of 4 × 1
    truth = H.rnn_timeseries()["dL/dW_hz"][0][0]
    assert mp.nstr(truth, 9) == "1.99999997"
    for key in ("dL/dW_hz[0]", "dL/dW_hz[0,0]", "dL/dW_hz"):
        report = check_claims("rnn-timeseries", {key: "2"})
        r = report.results[0]
        assert r.status == "ok", report.line(r)          # no relation: "2" is right to its digits
        assert float(r.truth[0].approx) == pytest.approx(float(truth), rel=1e-15)
    assert check_claims("rnn-timeseries", {"dL/dW_hz[0]": "= 2"}).results[0].status == "inexact"
    text = check_claims("rnn-text", {"dL/dW_hz[2]": "≈ " + rounded(t("dL/dW_hz", 2, 0), 4)})
    assert text.results[0].status == "ok"


def test_vector_printed_in_one_string_as_the_checker_prints_it():
    yhat = [rounded(v, 3) for v in TEXT["yhat_3"]]
    shown = "≈ [" + ", ".join(yhat) + "]"
    report, by = results({"yhat_3": shown, "W_hz'": "[" + "; ".join(rounded(r[0], 4) for r in TEXT["W_hz'"]) + "]"})
    assert by["yhat_3"].status == "ok" and by["W_hz'"].status == "ok"
    assert printed(report, by["yhat_3"]) == shown                     # printed back the same way
    wrong = list(yhat)
    wrong[2] = "0.300"
    report, by = results({"yhat_3": "≈ [" + ", ".join(wrong) + "]"})
    assert by["yhat_3"].status == "wrong" and [p.position for p in by["yhat_3"].parts] == [2]


def printed(report, r) -> str:
    from symderiv.checker.report import printed_text
    return printed_text(r.bound)


def test_one_zero_for_a_whole_zero_vector():
    # b_z of the text example is given as four zeros; dL/dW_xh(t=1) = dL/da_1·x_1ᵀ is not all zero
    report, by = results({"b_z": "= 0", "dL/dW_xh(t=1)": "= 0"})
    assert by["b_z"].status == "ok" and printed(report, by["b_z"]) == "= 0"
    r = by["dL/dW_xh(t=1)"]
    assert (r.status, r.problems) == ("wrong", ("zero",))
    assert [float(v.approx) for v in r.truth] == pytest.approx([float(v) for v in H.flat(TEXT["dL/dW_xh(t=1)"])],
                                                               rel=1e-14)
    assert [p.position for p in r.parts] == [0]                        # only the first entry is not 0


# -- explanations in the reader's terms ------------------------------------------------------------------
def test_missing_factor_two_of_the_squared_error_gradient():
    # ∂L/∂ŷ_4 = 2(ŷ_4 - y_4); printed as ŷ_4 - y_4 from the printed ŷ_4
    ts = H.rnn_timeseries()
    yhat = mp.nstr(ts["yhat_4"][0], 10)
    half = mpf(yhat) - 15
    assert abs(2 * half - ts["dL/dyhat_4"][0]) < mpf("1e-8")
    report = check_claims("rnn-timeseries", {"yhat_4": "≈ " + yhat, "dL/dyhat_4": "≈ " + mp.nstr(half, 8)})
    r = report.results[1]
    assert (r.status, r.cause) == ("wrong", "root")
    line = report.line(r)
    assert line.endswith("the printed numbers are what yhat_4 − y_4 gives instead of 2(yhat_4 − y_4): "
                         "a missing factor 2"), line
    assert "fused" not in line and "mse_grad" not in line


def test_transpose_left_out_in_the_backward_pass(tmp_path):
    spec = tmp_path / "two.toml"
    spec.write_text(H.TWO_UNITS_SPEC)
    q = H.rnn_two_units()
    claims = {"dL/da_3": ["≈ " + rounded(v, 4) for v in q["dL/da_3"]],
              "dL/dh_2": ["≈ " + rounded(v, 3) for v in q["W_hh dL/da_3"]]}
    assert [rounded(v, 3) for v in q["W_hh dL/da_3"]] != [rounded(v, 3) for v in q["dL/dh_2"]]
    report = check_claims(str(spec), claims)
    r = report.results[1]
    assert (r.status, r.cause) == ("wrong", "root")
    assert [float(v.approx) for v in r.truth] == pytest.approx([float(v) for v in q["dL/dh_2"]], rel=1e-14)
    assert report.line(r).endswith("the printed numbers are what W_hh dL/da_3 gives instead of W_hhᵀ dL/da_3")
    from symderiv.checker.formats import FORMATS
    tex = FORMATS["tex"](report)
    assert (r"the printed numbers are what ${W_{hh}} {\frac{\partial L}{\partial a_{3}}}$ gives instead of "
            r"${W_{hh}}^{\top} {\frac{\partial L}{\partial a_{3}}}$") in tex
    assert "matvec" not in tex and "matvec" not in FORMATS["md"](report)


TWO_FILTERS = """
[example]
name = "cnn-two-filters"
kind = "cnn"
[input]
image = [[[1, 0, 2, 1], [0, 1, 1, 0], [2, 1, 0, 1], [1, 0, 1, 2]],
         [[0, 1, 0, 1], [1, 0, 1, 0], [0, 2, 1, 0], [1, 1, 0, 0]]]
[convolution]
filters = 2
kernel_size = 2
[output]
activation = "softmax"
[target]
value = [0, 1]
[parameters]
k = [[[[1, -1], [0, 1]], [[0.5, 0], [0, -0.5]]], [[[0, 1], [1, 0]], [[-1, 0], [1, 1]]]]
b_conv = [0, -1]
W = [[0.2, -0.1, 0.3, 0.1, 0.0, 0.2, -0.2, 0.1, 0.1, 0.1, -0.2, 0.2, 0.3, 0.0, 0.1, -0.1, 0.1, 0.2],
     [-0.3, 0.2, 0.1, 0.0, 0.1, -0.1, 0.2, 0.3, 0.1, 0.1, 0.0, 0.2, -0.1, 0.3, 0.2, 0.1, 0.0, -0.2]]
[training]
learning_rate = 0.1
"""


def test_three_dimensional_map_in_the_forms_the_checker_and_numpy_print(tmp_path):
    from fractions import Fraction as F
    spec = tmp_path / "two.toml"
    spec.write_text(TWO_FILTERS)
    x = [[[1, 0, 2, 1], [0, 1, 1, 0], [2, 1, 0, 1], [1, 0, 1, 2]], [[0, 1, 0, 1], [1, 0, 1, 0], [0, 2, 1, 0], [1, 1, 0, 0]]]
    k = [[[[1, -1], [0, 1]], [[F(1, 2), 0], [0, F(-1, 2)]]], [[[0, 1], [1, 0]], [[-1, 0], [1, 1]]]]
    b = [0, -1]
    h = [[[sum(x[c][i + u][j + v] * k[f][c][u][v] for c in range(2) for u in range(2) for v in range(2)) + b[f]
           for j in range(3)] for i in range(3)] for f in range(2)]
    text = lambda v: str(float(v)).removesuffix(".0")          # noqa: E731  (halves are exact decimals)
    as_checker = "= [" + "; ".join(", ".join(text(v) for row in h[f] for v in row) for f in range(2)) + "]"
    as_numpy = "[" + " ".join("[" + " ".join("[" + " ".join(text(v) for v in row) + "]" for row in h[f]) + "]"
                              for f in range(2)) + "]"
    wrong = [[list(row) for row in m] for m in h]
    wrong[1][2][0] += 3
    as_list = [[[text(v) for v in row] for row in m] for m in wrong]
    report = check_claims(str(spec), {"h": as_checker, "slide 2": {"h": as_numpy}, "slide 3": {"h": as_list}})
    assert [r.status for r in report.results] == ["ok", "ok", "wrong"]
    r = report.results[2]
    assert [r.bound.elements[p.position][0] for p in r.parts] == [(1, 2, 0)]     # row-major: filter, row, column
