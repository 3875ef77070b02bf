"""User text outside ASCII (render/escape.py, render/glyphs.py): printed where a font has the glyph,
otherwise a visible stand-in and a one-line warning naming the field and the character.

The expected LaTeX spellings are LaTeX's own (``\\texteuro`` is textcomp's euro, ``\\^{y}`` the
circumflex accent); code points and character names come from Python's ``unicodedata``.
"""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pytest

from conftest import run_cli_here as run_cli
from symderiv.render.escape import escape_tex, latex_text, missing_glyphs
from symderiv.render.glyphs import TYPESET_RANGES, pylatexenc_text

CASES = Path(__file__).parent / "cases"
EMOJI, SHARP_S, EURO = "😀", "ẞ", "€"


def _code(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _box(ch: str) -> str:
    return rf"\framebox{{\tiny {_code(ch)}}}"


@pytest.mark.parametrize("text, latex", [
    ("€", r"{\texteuro}"),                  # textcomp's euro sign
    ("ŷ − y", r"\^{y} - y"),                # was printed "y - y": the hat was dropped silently
    ("q\u0302", r"\^{q}"),                  # a combining accent on a letter with no precomposed form
    ("σ", r"\ensuremath{\sigma}"),
    ("½", r"{\textonehalf}"),
    ("café", "café"),                       # LaTeX's utf8 input prints these as they are
    ("a\u200db", "ab"),                     # a zero-width joiner prints nothing
    ("❤\ufe0f", _box("❤")),                 # the emoji style selector prints nothing; the heart has no glyph
])
def test_characters_print_as_latex_spells_them(text, latex):
    out, missing = latex_text(text)
    assert out == latex
    assert missing == (("❤",) if "❤" in text else ())


@pytest.mark.parametrize("ch", [EMOJI, "中", "Я", "\u05d0", "\U0001F9E0"])
def test_a_character_no_font_has_becomes_its_boxed_code_point(ch):
    out, missing = latex_text(f"a{ch}b")
    assert out == f"a{_box(ch)}b" and missing == (ch,)


def test_capital_sharp_s_is_printed_as_latex_prints_it_and_reported():
    # T1 has no capital sharp s; LaTeX's own utf8 input maps U+1E9E to \SS, which prints "SS"
    out, missing = latex_text(SHARP_S)
    assert out == r"\SS{}" and missing == (SHARP_S,)


def test_ascii_text_is_escaped_as_before():
    ascii_text = "".join(chr(c) for c in range(32, 127))
    out, missing = latex_text(ascii_text)
    assert missing == ()
    assert out == escape_tex(ascii_text) and out.isascii()
    assert r"\textbackslash{}" in out and r"\textasciitilde{}" in out and r"\textquotedbl{}" in out


def test_warning_is_one_line_naming_field_character_and_stand_in():
    lines = missing_glyphs([("example.title", f"Title: {SHARP_S}{EURO}{EMOJI}"), ("example.description", "plain")],
                           "my.toml")
    assert len(lines) == 1 and "\n" not in lines[0]
    line = lines[0]
    assert line.startswith("my.toml: field 'example.title': ")
    assert f"'{EMOJI}' ({_code(EMOJI)} {unicodedata.name(EMOJI)}" in line
    assert f"'{SHARP_S}' ({_code(SHARP_S)} {unicodedata.name(SHARP_S)}" in line
    assert "printed as SS" in line and f"printed as {_code(EMOJI)} in a box" in line
    assert EURO not in line                 # the euro sign prints


def test_unicode_text_case_warns_per_field_and_prints_no_question_marks(tmp_path):
    proc = run_cli("build", CASES / "unicode-text.toml", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.splitlines()
    fields = ["example.title", "example.description", "input.vocabulary[0]"]
    assert len(warnings) == len(fields)
    for line, field in zip(warnings, fields):
        assert line.startswith("symderiv: warning: ") and f"field '{field}'" in line
        assert f"'{EMOJI}'" in line and f"'{SHARP_S}'" in line and f"'{EURO}'" not in line
    deck = (tmp_path / "unicode-text.tex").read_text(encoding="utf-8")
    assert "???" not in deck
    printed = rf"\SS{{}}{{\texteuro}}{_box(EMOJI)}"
    assert f"Title: {printed}" in deck and f"Description: {printed} End of description." in deck
    assert f"``{printed}''" in deck          # the token in the unrolled-network figure


def test_cnn_title_and_names_warn_too(tmp_path):
    from symderiv.spec.load import builtin_text
    text = builtin_text("cnn-image").split("\n[exam]")[0]      # its exam names W's gradient by the old name
    text = text.replace('title = "', f'title = "{EMOJI} ', 1)
    text = text.replace("[parameters]\nk =", '[names]\nW = "Vя"\n\n[parameters]\nk =', 1)   # Cyrillic: no font
    text = text.replace("\nW = [[", '\n"Vя" = [[', 1)
    spec = tmp_path / "cnn.toml"
    spec.write_text(text, encoding="utf-8")
    proc = run_cli("build", spec, "--slides", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2
    assert "field 'example.title'" in lines[0] and f"'{EMOJI}'" in lines[0]
    assert "field 'names.W'" in lines[1] and "'я' (U+044F CYRILLIC SMALL LETTER YA" in lines[1]


def test_claims_errata_warns_about_the_text_it_prints(tmp_path):
    claims = tmp_path / "c.claims.toml"
    claims.write_text(f'example = "rnn-text"\nsource = "Vorlesung {EMOJI}"\n[claims."Folie {SHARP_S}"]\n'
                      'a_1 = "= 0.7"\nh_1 = "≈ 0.462"\n', encoding="utf-8")
    out = tmp_path / "errata.tex"
    proc = run_cli("check", claims, "--format", "tex", "-o", out)
    assert proc.returncode == 1, proc.stderr               # a_1 is 0.5 (0.5 · 1 + 0.2 · 0 + 0), not 0.7
    lines = proc.stderr.splitlines()
    assert len(lines) == 2
    assert "field 'source'" in lines[0] and EMOJI in lines[0]
    assert "field 'claims.\"Folie " in lines[1] and SHARP_S in lines[1]
    errata = out.read_text(encoding="utf-8")
    assert f"(Vorlesung {_box(EMOJI)})" in errata and r"(Folie \SS{})" in errata


def test_claims_report_in_plain_text_does_not_warn(tmp_path):
    claims = tmp_path / "c.claims.toml"
    claims.write_text(f'example = "rnn-text"\nsource = "Vorlesung {EMOJI}"\n[claims]\na_1 = "= 0.7"\n',
                      encoding="utf-8")
    proc = run_cli("check", claims)
    assert proc.returncode == 1 and proc.stderr == ""


# -- with LaTeX -------------------------------------------------------------------------------------------
@pytest.mark.latex
def test_every_character_of_the_table_prints_cleanly():
    """The table of printable characters, checked against the TeX Live installed (tests/glyph_probe.py)."""
    import glyph_probe
    items = [(cp, pylatexenc_text(chr(cp))) for lo, hi in TYPESET_RANGES for cp in range(lo, hi + 1)]
    assert all(latex is not None for _, latex in items)
    assert sorted(f"U+{cp:04X}" for cp in glyph_probe.check(items)) == []


@pytest.mark.latex
def test_unicode_text_case_pdf_shows_each_glyph_or_its_stand_in(tmp_path):
    proc = run_cli("build", CASES / "unicode-text.toml", "--pdf", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in ("unicode-text.pdf", "unicode-text-solutions.pdf"):
        text = subprocess.run(["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert f"Title: SS{EURO} {_code(EMOJI)}" in text
        assert f"Description: SS{EURO} {_code(EMOJI)} End of description." in text
        assert "?" not in text.split("End of description.")[0]
