"""The mark on every page: the QR code's TeX rules redraw segno's module matrix exactly."""

from __future__ import annotations

import re

import segno

from symderiv.render import Options, render
from symderiv.variants.mark import mark_tex, payload, qr_matrix, write_mark_template


def rows_from_tex(tex: str) -> list[list[bool]]:
    """Read the \\hbox rows of \\symqr@r{gap}{run} rules back into dark/light modules."""
    rows = []
    for line in re.findall(r"^\\hbox\{\\vrule width\\z@ height\\symqr@m(.*)\}$", tex, re.M):
        row = []
        for gap, run in re.findall(r"\\symqr@r\{(\d+)\}\{(\d+)\}", line):
            row += [False] * int(gap) + [True] * int(run)
        rows.append(row)
    return rows


def test_the_rules_draw_the_qr_code_of_the_payload():
    tex = mark_tex("rnn-text", 3, 7)
    code = segno.make("rnn-text v03 seed 7", error="m", boost_error=False)
    expected = [[bool(m) for m in row] for row in code.matrix]
    drawn = rows_from_tex(tex)
    assert len(drawn) == len(expected)
    for got, want in zip(drawn, expected):
        assert got == want[:len(got)] and not any(want[len(got):])      # trailing light modules are not drawn


def test_the_payload_and_the_running_head():
    assert payload("cnn-image", 12, 0) == "cnn-image v12 seed 0"
    assert len(qr_matrix(payload("cnn-image", 12, 0))) in (21, 25)     # version 1 or 2: small in the margin
    tex = mark_tex("my_net & co", 2, 5)
    assert r"my\_net \& co\quad variant 2\quad seed 5" in tex           # user text escaped
    assert r"\let\ps@plain\ps@symvariant" in tex                         # the title page carries it too


def test_the_solution_template_includes_the_mark_only_when_there_is_one(tmp_path):
    from symderiv.api import derive
    from symderiv.verify import verify

    d = derive("rnn-text")
    examples = [(d, verify(d), [])]
    plain = render("T", examples, Options(slides=False, questions=True))
    write_mark_template(tmp_path, "rnn-text", 4, 9)
    marked = render("T", examples, Options(slides=False, questions=True, templates=tmp_path))
    mark = mark_tex("rnn-text", 4, 9)
    for key in ("solutions", "questions"):
        assert "symqr" not in plain[key]
        assert marked[key] == plain[key].replace("\\begin{document}\n", "\\begin{document}\n" + mark, 1)
        preamble = marked[key].partition("\\begin{document}")[0]
        assert preamble == plain[key].partition("\\begin{document}")[0]   # one preamble (one format) for all
