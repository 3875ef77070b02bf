"""Reading claims files: printed numbers keep their precision; malformed files get one exact line."""

from __future__ import annotations

import pytest
import sympy

from conftest import run_cli_here as run_cli
from symderiv.cli import main
from symderiv.checker.claims import parse_claims, parse_printed
from symderiv.errors import SpecError


@pytest.mark.parametrize("text, value, half, relation", [
    ("≈ 0.462", "0.462", "0.0005", "≈"),
    ("~0.462", "0.462", "0.0005", "≈"),
    ("= 0", "0", "0.5", "="),
    ("0.240", "0.240", "0.0005", None),             # trailing zeros are printed digits
    ("−0.342", "-0.342", "0.0005", None),           # a typographic minus, as copied from a PDF
    ("1.5e-8", "1.5e-8", "0.05e-8", None),
    ("= 16", "16", "0.5", "="),
    (".5", "0.5", "0.05", None),
    ("1/3", "1/3", "0", None),                      # a fraction is exact
    # longer than float64 holds (15 significant digits): judged at the 15th digit, not the 17th
    ("0.46211715726000974", "0.46211715726000974", "0.5e-15", None),
    ("= -0.30757656854799805", "-0.30757656854799805", "0.5e-15", "="),
    ("1234567.8901234567", "1234567.8901234567", "0.5e-8", None),
    ("0.462117157260010", "0.462117157260010", "0.5e-15", None),     # 15 digits: as printed
])
def test_printed_numbers(text, value, half, relation):
    p = parse_printed(text, "claims.x")
    assert p.value == sympy.Rational(value)
    assert p.half_unit == sympy.Rational(half)
    assert p.relation == relation


@pytest.mark.parametrize("text, values, relations, shape", [
    ("≈ [0.015, 0.985]", ["0.015", "0.985"], ["≈", "≈"], (2,)),                    # as the checker prints it
    ("[0.5, -0.4; 0.3, 0.1]", ["0.5", "-0.4", "0.3", "0.1"], [None] * 4, (2, 2)),
    ("= [[1 2] [3 4]]", ["1", "2", "3", "4"], ["="] * 4, (2, 2)),                  # as NumPy prints it
    ("[≈ 0.1, = 0]", ["0.1", "0"], ["≈", "="], (2,)),
    ("[0.24122675 0.24698396\n 0.25287673 −0.25891256]", ["0.24122675", "0.24698396", "0.25287673",
                                                           "-0.25891256"], [None] * 4, (4,)),
])
def test_printed_vectors_and_matrices(text, values, relations, shape):
    cf = parse_claims({"z": text})
    got = cf.claims[0].values
    flat = [p for row in got for p in (row if isinstance(row, list) else [row])]
    assert [p.value for p in flat] == [sympy.Rational(v) for v in values]
    assert [p.relation for p in flat] == relations
    assert (len(got),) + ((len(got[0]),) if isinstance(got[0], list) else ()) == shape
    # a table's relation applies to the entries that do not state their own
    with_relation = parse_claims({"z": {"value": text, "relation": "~"}}).claims[0].values
    flat = [p for row in with_relation for p in (row if isinstance(row, list) else [row])]
    assert [p.relation for p in flat] == [r or "≈" for r in relations]


def test_groups_tables_and_indices():
    cf = parse_claims({"example": "rnn-text", "source": "slides", "claims": {
        "h_1": "≈ 0.462",
        "dL/dW_hz[2, 0]": "≈ 0.060",
        "slide 3": {"a_2": "≈ -0.308", "h_1": "0.46"},
        "W_xh'": {"value": ["0.5", "-0.4", "0.3", "0.1"], "relation": "=", "where": "slide 9"},
    }})
    assert cf.reference == "rnn-text" and cf.source == "slides"
    keys = [(c.key, c.index, c.where) for c in cf.claims]
    assert keys == [("h_1", None, ""), ("dL/dW_hz[2, 0]", (2, 0), ""), ("a_2", None, "slide 3"),
                    ("h_1", None, "slide 3"), ("W_xh'", None, "slide 9")]
    assert [p.relation for p in cf.claims[-1].values] == ["="] * 4
    # a bare table of claims is read as the [claims] table
    assert parse_claims({"h_1": "0.46"}).claims[0].quantity == "h_1"


def error_of(tmp_path, capsys, text: str) -> str:
    """The command's stderr for a claims file (run in-process; the subprocess contract is tested below)."""
    path = tmp_path / "bad.claims.toml"
    path.write_text(text, encoding="utf-8")
    status = main(["check", str(path), "--no-fd"])
    out, err = capsys.readouterr()
    assert status == 2, out + err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    return lines[0].replace(str(path), "FILE")


CASES = [
    ('example = "rnn-text"\n[claims]\nh_1 = 0.462\n',
     """symderiv: error: FILE: field 'claims.h_1': expected the value as printed, as a string (e.g. "0.462"), """
     """so its precision is kept, found the number 0.462"""),
    ('example = "rnn-text"\n[claims]\nh_1 = "about 0.46"\n',
     """symderiv: error: FILE: field 'claims.h_1': expected a number as printed, e.g. "0.462", "≈ -0.342", """
     """"= 0", "1.5e-8", found the text 'about 0.46'"""),
    ('example = "rnn-text"\n[claims]\nh_l = "0.46"\n',
     "symderiv: error: FILE: field 'claims.h_l': expected a quantity of example rnn-text; did you mean h_3, "
     "h_2, h_1?, found 'h_l'"),
    ('example = "rnn-text"\n[claims]\n"dL/dW_hz[4,0]" = "0.1"\n',
     """symderiv: error: FILE: field 'claims."dL/dW_hz[4,0]"': expected an index within dL/dW_hz, a 4 × 1 """
     """matrix (index 0 runs from 0 to 3), found [4, 0]"""),
    ('example = "rnn-text"\n[claims]\n"h_1[0,0,0]" = "0.1"\n',
     """symderiv: error: FILE: field 'claims."h_1[0,0,0]"': expected an index of at most 1 number for h_1, """
     """a vector of 1, found [0, 0, 0]"""),
    ('example = "rnn-timeseries"\n[claims]\n"dL/dW_hz[1]" = "2"\n',
     """symderiv: error: FILE: field 'claims."dL/dW_hz[1]"': expected an index within dL/dW_hz, a 1 × 1 matrix """
     """(an axis of length 1 takes only the index 0), found [1]"""),
    ('example = "cnn-image"\n[claims]\n"h\'[0,3]" = "0"\n',
     """symderiv: error: FILE: field 'claims."h'[0,3]"': expected an index within h', a 1 × 3 × 3 array (axes """
     """of length 1 left out, index 1 runs from 0 to 2), found [0, 3]"""),
    ('example = "rnn-text"\n[claims]\nz_3 = "≈ [0.024, 0.047, 0.071"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected a vector or matrix as printed, e.g. "≈ [0.015, """
     """0.985]", "[1, 2; 3, 4]" (rows separated by ";") or "[[1, 2], [3, 4]]", found the text '≈ [0.024, """
     """0.047, 0.071' (a '[' without its ']')"""),
    ('example = "rnn-text"\n[claims]\nz_3 = "[0.024, 0.047; 0.071]"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected a vector or matrix as printed, e.g. "≈ [0.015, """
     """0.985]", "[1, 2; 3, 4]" (rows separated by ";") or "[[1, 2], [3, 4]]", found the text '[0.024, 0.047; """
     """0.071]' (rows of different lengths)"""),
    ('example = "rnn-text"\n[claims]\nz_3 = "[0.024, about 0.047]"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected a vector or matrix as printed, e.g. "≈ [0.015, """
     """0.985]", "[1, 2; 3, 4]" (rows separated by ";") or "[[1, 2], [3, 4]]", found the text '[0.024, about """
     """0.047]' ('about' is not a number)"""),
    ('example = "rnn-text"\n[claims]\nz_3 = "[]"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected a vector or matrix as printed, e.g. "≈ [0.015, """
     """0.985]", "[1, 2; 3, 4]" (rows separated by ";") or "[[1, 2], [3, 4]]", found the text '[]' (an empty """
     """list)"""),
    ('example = "rnn-text"\n[claims]\nz_3 = "[0.1, 0.2, 0.3, 0.4] x"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected a vector or matrix as printed, e.g. "≈ [0.015, """
     """0.985]", "[1, 2; 3, 4]" (rows separated by ";") or "[[1, 2], [3, 4]]", found the text '[0.1, 0.2, 0.3, """
     """0.4] x' ('x' after the closing ']')"""),
    ('example = "rnn-text"\n[claims]\n"h_1[x]" = "0.1"\n',
     """symderiv: error: FILE: field 'claims."h_1[x]"': expected an element index of whole numbers, e.g. [2,0], """
     """found [x]"""),
    ('example = "rnn-text"\n[claims]\n"h_1[-1]" = "0.1"\n',
     """symderiv: error: FILE: field 'claims."h_1[-1]"': expected an element index counted from 0 (no negative """
     """numbers), found [-1]"""),
    ('example = "rnn-text"\n[claims]\n"dL/dW_hz" = ["0.1", "0.2"]\n',
     """symderiv: error: FILE: field 'claims."dL/dW_hz"': expected 4 values in the shape 4 × 1 (dL/dW_hz is a """
     """4 × 1 matrix), found values in the shape 2"""),
    ('example = "rnn-text"\n[claims]\n"z_3" = "0.1"\n',
     """symderiv: error: FILE: field 'claims.z_3': expected 4 values in the shape 4 (z_3 is a vector of 4), """
     """found one value (only a 0 may stand for a whole vector or matrix)"""),
    ('example = "rnn-text"\n[claims]\n"dL/dk" = [["0.1", "0.2"], ["0.3"]]\n',
     """symderiv: error: FILE: field 'claims."dL/dk"': expected rows of equal length, found a list of 2 rows """
     """of lengths 1, 2"""),
    ('example = "rnn-text"\n[claims]\nh_1 = { value = "0.46", relation = "<" }\n',
     "symderiv: error: FILE: field 'claims.h_1.relation': expected '=' (exact) or '≈' (rounded; '~' works too), "
     "found the text '<'"),
    ('example = "rnn-text"\n[claims]\nh_1 = { value = "0.46", note = "x" }\n',
     "symderiv: error: FILE: field 'claims.h_1.note': expected one of the known fields (value, relation, where), "
     "found an unknown field"),
    ('example = "rnn-text"\n[claims]\n',
     "symderiv: error: FILE: field 'claims': expected at least one claim, found an empty table"),
    ('example = "rnn-text"\n',
     """symderiv: error: FILE: field 'claims': expected a table of claims (quantity = "value as printed"), """
     """found nothing (the table is missing)"""),
    ('example = "rnn-text"\nslides = 3\n[claims]\nh_1 = "0.46"\n',
     "symderiv: error: FILE: field 'slides': expected one of the known fields (example, spec, source, claims), "
     "found an unknown field"),
    ('example = "rnn-text"\nspec = "x.toml"\n[claims]\nh_1 = "0.46"\n',
     "symderiv: error: FILE: field 'spec': expected either 'example' (a built-in example) or 'spec' (a spec "
     "file), not both, found both"),
    ('spec = "missing.toml"\n[claims]\nh_1 = "0.46"\n',
     "symderiv: error: FILE: field 'spec': expected the path of a spec file, relative to the claims file, found "
     "'missing.toml', which does not exist"),
    ('[claims]\nh_1 = "0.46"\n',
     """symderiv: error: FILE: field 'example': expected the example the claims are about: example = "NAME" or """
     """spec = "FILE" (or give it on the command line), found nothing (the field is missing)"""),
    ('example = "rnn-text"\n[claims\n',
     "symderiv: error: FILE: field '(file)': expected valid TOML, found a syntax error (Expected ']' at the end "
     "of a table declaration (at line 2, column 8))"),
    ('example = "rnn-text"\n[claims."slide 2"]\n[claims."slide 2".inner]\nx = "1"\n',
     """symderiv: error: FILE: field 'claims."slide 2".inner': expected a claim (groups do not nest), found a """
     """table"""),
]


@pytest.mark.parametrize("text, message", CASES)
def test_malformed_claims_files(tmp_path, capsys, text, message):
    assert error_of(tmp_path, capsys, text) == message


def test_bad_input_through_the_command_line(tmp_path):
    path = tmp_path / "bad.claims.toml"
    path.write_text('example = "rnn-text"\n[claims]\nh_l = "0.46"\n')
    proc = run_cli("check", path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"symderiv: error: {path}: field 'claims.h_l': expected a quantity")


def test_unknown_example_and_missing_file(tmp_path):
    path = tmp_path / "c.claims.toml"
    path.write_text('example = "no-such"\n[claims]\nh_1 = "0.46"\n')
    proc = run_cli("check", path)
    assert proc.returncode == 2
    assert proc.stderr.startswith("symderiv: error: 'no-such' is neither a built-in example (")
    proc = run_cli("check", "rnn-text", tmp_path / "absent.claims.toml")
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("absent.claims.toml' does not exist (expected a claims file, "
                                        "e.g. lecture.claims.toml)")
    proc = run_cli("check", "a", "b", "c")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "symderiv: error: check takes [NAME|SPEC] CLAIMS.toml, found 3 arguments"


def test_spec_beside_the_claims_file(tmp_path):
    from symderiv.spec.load import builtin_text
    (tmp_path / "lesson.toml").write_text(builtin_text("rnn-text"))
    claims = tmp_path / "lesson.claims.toml"
    claims.write_text('[claims]\nh_1 = "≈ 0.462"\n')
    proc = run_cli("check", claims, "--no-fd")
    assert proc.returncode == 0, proc.stderr
    assert "checked against rnn-text" in proc.stdout


def test_parse_errors_are_spec_errors():
    with pytest.raises(SpecError) as info:
        parse_claims({"claims": {"h_1": ["0.1", ["0.2"]]}})
    assert info.value.field == "claims.h_1"
