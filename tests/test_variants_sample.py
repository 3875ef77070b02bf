"""Candidates: drawn from a seeded stream, pairwise different, written as specs that read back exactly."""

from __future__ import annotations

import tomllib
from fractions import Fraction

import numpy as np
import pytest

from symderiv.spec import fields
from symderiv.spec.load import builtin_text, parse_spec_text
from symderiv.spec.toml_text import load_toml
from symderiv.variants.rules import parse_rules
from symderiv.variants.sample import Sampler, toml_value, variant_spec_text


def sampler(name: str, seed: int) -> Sampler:
    text = builtin_text(name)
    return Sampler(text, parse_rules(load_toml(text)), seed)


def candidates(name: str, seed: int, n: int) -> list:
    s = sampler(name, seed)
    return [s.next(10**6) for _ in range(n)]


def test_the_same_seed_gives_the_same_candidates_and_another_seed_others():
    a, b, c = candidates("rnn-text", 7, 20), candidates("rnn-text", 7, 20), candidates("rnn-text", 8, 20)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.text for x in a] != [x.text for x in c]


def test_draws_follow_pcg64s_raw_stream():
    # NumPy keeps a bit generator's raw stream fixed for a seed (NEP 19): the first draw of the first
    # varied field (input.tokens: 4 tokens) is the first raw 64-bit word modulo 4.
    raw = int(np.random.PCG64(np.random.SeedSequence(7)).random_raw())
    assert raw == 11530976094092348043
    first = candidates("rnn-text", 7, 1)[0]
    vocabulary = ["hello", "world", "my", "name"]
    assert tomllib.loads(first.text)["input"]["tokens"][0] == vocabulary[raw % 4]


def test_candidates_are_pairwise_different_and_drawn_from_the_grids():
    found = candidates("rnn-text", 1, 200)
    specs = [tomllib.loads(c.text) for c in found]
    seen = {(tuple(s["input"]["tokens"]), s["target"]["token"], str(s["parameters"])) for s in specs}
    assert len(seen) == len(specs)
    tenths = {Fraction(k, 10) for k in range(-10, 11) if k}
    for s in specs:
        for name in ("W_xh", "W_hh", "W_hz"):
            for row in s["parameters"][name]:
                assert all(Fraction(str(v)) in tenths for v in row)
        assert s["parameters"]["b_h"] == [0] and s["training"]["learning_rate"] == 0.1   # not varied: kept
        assert set(s["input"]["tokens"]) <= {"hello", "world", "my", "name"}


def test_a_grid_of_whole_values_replaces_the_whole_field():
    targets = {tuple(tomllib.loads(c.text)["target"]["value"]) for c in candidates("cnn-image", 3, 40)}
    assert targets == {(0, 1), (1, 0)}


def test_every_field_is_varied_independently():
    # 200 draws over 20 nonzero tenths: every value turns up in W_hh (the chance one is missing is < 1e-3)
    values = {tomllib.loads(c.text)["parameters"]["W_hh"][0][0] for c in candidates("rnn-text", 2, 200)}
    assert len(values) == 20


@pytest.mark.parametrize("value", [Fraction(1, 10), Fraction(-7, 4), Fraction(3), Fraction(1, 3),
                                   Fraction(123456789, 10**12), Fraction(-1, 7), Fraction(0)])
def test_a_grid_value_reads_back_exactly(value):
    written = toml_value(value)
    text = f"x = {written!r}" if isinstance(written, str) else f"x = {written}"
    text = text.replace("'", '"')
    read = fields.number(tomllib.loads(text)["x"], "x")
    assert Fraction(int(read.p), int(read.q)) == value


def test_a_variants_spec_keeps_the_authors_text_and_drops_the_rules():
    first = candidates("cnn-image", 1, 1)[0]
    text = variant_spec_text(first.text, "cnn-image", 3, 1)
    assert text.startswith("# Variant 3 of cnn-image, written by `symderiv variants` with seed 1.\n")
    assert "# The lecture's convolutional worked example" in text          # the author's comment stays
    assert "[variants" not in text and "symderiv variants NAME" not in text
    assert "image = [\n" in text                                           # written one row a line, as before
    spec = parse_spec_text(text)
    assert spec.description.startswith("A 5 × 5 grayscale image goes through one 3 × 3 filter")
    assert spec.title == "Classifying a 5 × 5 image with one convolutional filter"


def test_a_field_of_a_layer_table_is_named_by_its_index():
    text = builtin_text("mlp-sigmoid").replace(
        '[[layer]]\ntype = "dense"\nunits = 2\n\n[output]',
        '[[layer]]\ntype = "dense"\nunits = 2\n\n[[layer]]\ntype = "dropout"\np = 0.5\nmask = [1, 0]\n\n[output]')
    text = text[:text.index("[variants]")] + '[variants.vary]\n"layer[3].p" = [0.25, 0.5, 0.75]\n'
    s = Sampler(text, parse_rules(load_toml(text)), 4)
    drawn = {tomllib.loads(s.next(100).text)["layer"][3]["p"] for _ in range(3)}
    assert drawn == {0.25, 0.5, 0.75}
    assert s.next(100) is None                                   # three values: no fourth different draw


def test_the_variants_description_replaces_an_exam_setup_that_quotes_the_examples_numbers():
    from symderiv.variants.sample import base_spec
    text = builtin_text("rnn-timeseries")
    original = tomllib.loads(text)
    assert "15.0, 16.0, 15.5" in original["exam"]["setup"]         # the example's own set-up quotes its inputs
    rules = parse_rules(load_toml(text))
    base = tomllib.loads(base_spec(text, rules))
    assert "setup" not in base["exam"] and base["exam"]["ask"] == original["exam"]["ask"]
    assert base["example"]["description"] == original["variants"]["description"]
    assert parse_spec_text(base_spec(text, rules)).exam.setup == ""
