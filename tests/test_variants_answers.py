"""Asked entries, their values and tolerances, and the answer-key files."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import tomllib

import pytest

from autodiff_rnn import gradients

from symderiv.api import derive
from symderiv.errors import SpecError
from symderiv.spec.load import builtin_text
from symderiv.variants.answers import Row, answers_of, asked_entries, csv_text, json_text, tolerance
from symderiv.variants.rules import Asked


def test_by_default_the_loss_and_every_gradient_entry_are_asked():
    d = derive("cnn-image")
    entries = asked_entries(d, None)
    assert entries[0] == ("L", ())
    assert [e for e in entries if e[0] == "dL/dk"] == [("dL/dk", (i, j)) for i in range(3) for j in range(3)]
    assert len(entries) == 1 + 9 + 8 + 2                       # L, k 3×3, W 2×4, b 2


def test_asked_entries_and_their_values():
    d = derive("rnn-text")
    entries = asked_entries(d, (Asked("dL/dW_hz", (2, 0)), Asked("h_3")))
    assert entries == [("dL/dW_hz", (2, 0)), ("h_3", (0,))]
    a, h = answers_of(d, entries)
    assert (a.quantity, h.quantity) == ("dL/dW_hz[2,0]", "h_3")
    assert a.value == d["dL/dW_hz"].floats[2][0] and h.value == d["h_3"].floats[0]
    with pytest.raises(SpecError, match=r"field 'variants.ask\[1\]': expected an index with one number per axis"):
        asked_entries(d, (Asked("L"), Asked("dL/dW_hz", (4, 0), "variants.ask[1]")))


@pytest.mark.parametrize("value, rel, absolute, expected", [
    (1.351, "1/100", "5/10000", 0.014),          # 0.01351 rounded up to two digits
    (-0.00398, "1/100", "5/10000", 0.0005),      # the absolute floor
    (0.0, "1/100", "0", 0.0),
    (123.456, "1/100", "5/10000", 1.3),
    (0.25, "1/50", "0", 0.005),                  # exact: not rounded up
])
def test_tolerances_round_up_to_two_digits(value, rel, absolute, expected):
    assert tolerance(value, Fraction(rel), Fraction(absolute)) == expected


def test_the_answer_key_files():
    d = derive("rnn-text")
    (answer,) = answers_of(d, [("L", ())])
    rows = [Row(1, "rnn-text-v1", answer, 0.014)]
    (line,) = list(csv.DictReader(io.StringIO(csv_text(rows))))
    assert line == {"variant": "1", "folder": "rnn-text-v1", "quantity": "L", "value": repr(answer.value),
                    "tolerance": "0.014"}
    data = json.loads(json_text("rnn-text", 9, 1, rows))
    assert data == {"example": "rnn-text", "seed": 9, "count": 1, "rows": [
        {"variant": 1, "folder": "rnn-text-v1", "quantity": "L", "value": answer.value, "tolerance": 0.014}]}
    loss, _ = gradients(tomllib.loads(builtin_text("rnn-text")))          # autograd, apart from symderiv
    assert answer.value == pytest.approx(loss, rel=1e-12)
