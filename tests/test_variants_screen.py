"""Judging candidates: the teaching lints as predicates, forward-only first, pre-activations and answer sizes."""

from __future__ import annotations

from fractions import Fraction

from symderiv.api import derive_spec
from symderiv.spec.load import builtin_text, load_spec
from symderiv.variants.answers import Answer
from symderiv.variants.rules import Constraints
from symderiv.variants.screen import Batch, answer_problem, lint_problem, preactivation_problem, screen


def test_lints_are_predicates_even_where_the_spec_silences_them():
    text = builtin_text("cnn-image") + '\n[lints]\nsilence = ["dead-relu", "pooling-tie"]\n'
    (verdict,) = screen(Batch(((0, text),), Constraints(forbid=("pooling-tie",)), ()))
    assert verdict.problem == "pooling-tie"
    (verdict,) = screen(Batch(((0, text),), Constraints(forbid=()), ()))
    assert verdict.problem is None and verdict.derivation is not None


def test_saturation_shows_only_in_the_full_derivation_and_is_caught_there():
    spec = load_spec("rnn-timeseries")          # a_1 = 9: tanh'(9) ≈ 6e-8
    assert lint_problem(derive_spec(spec, forward_only=True), ("saturation",)) is None
    assert lint_problem(derive_spec(spec), ("saturation",)) == "saturation"
    (verdict,) = screen(Batch(((5, builtin_text("rnn-timeseries")),), Constraints(), ()))
    assert (verdict.serial, verdict.problem) == (5, "saturation")


def test_preactivation_decimals():
    # W_xh = 0.125 on the inputs 15, 16, 15.5: a_1 = 1.875 needs 3 decimals; a_2, a_3 go through tanh
    text = builtin_text("rnn-timeseries").replace("W_xh = [[0.6]]", "W_xh = [[0.125]]")
    assert Fraction("0.125") * 15 == Fraction("1.875")
    forward = derive_spec(load_spec_text(text), forward_only=True)
    assert preactivation_problem(forward, Constraints(preactivation_decimals=2)) == "preactivation_decimals"
    assert preactivation_problem(forward, Constraints(preactivation_decimals=3)) is None
    assert preactivation_problem(forward, Constraints()) is None


def load_spec_text(text):
    from symderiv.spec.load import parse_spec_text
    return parse_spec_text(text)


def test_answer_sizes():
    answers = (Answer("L", "L", (), 0.5, False), Answer("g", "g", (0,), 0.0, True), Answer("h", "h", (0,), -3.0, False))
    assert answer_problem(answers, Constraints(answer_max=Fraction(3), answer_min=Fraction(1, 10))) is None
    assert answer_problem(answers, Constraints(answer_max=Fraction(2))) == "answer_max"
    assert answer_problem(answers, Constraints(answer_min=Fraction(1))) == "answer_min"      # 0.5, not the exact 0
    tiny = (Answer("g", "g", (0,), 1e-12, False),)                                           # small is not zero
    assert answer_problem(tiny, Constraints(answer_min=Fraction(1, 1000))) == "answer_min"


def test_a_spec_the_parser_refuses_is_invalid_not_rejected():
    text = builtin_text("rnn-text").replace('token = "name"', 'token = "nobody"')
    (verdict,) = screen(Batch(((0, text),), Constraints(), ()))
    assert verdict.problem is None and verdict.derivation is None
    assert "field 'target.token': expected a token of the vocabulary" in verdict.invalid
