"""The precompiled preamble: the same PDF bytes as without it, renewed when TeX Live changes, optional."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from symderiv.render import latexformat
from symderiv.render.compile import compile_pdfs
from symderiv.render.latexformat import FORMATS_DIRNAME, link_format

pytestmark = pytest.mark.latex


def _formats(out):
    return sorted((out / ".symderiv-latex" / FORMATS_DIRNAME).glob("*.fmt"))


def test_the_precompiled_preamble_changes_no_byte(tmp_path, monkeypatch):
    run_cli("build", "rnn-text", "--out", tmp_path, check=True)
    paths = [tmp_path / "rnn-text.tex", tmp_path / "rnn-text-solutions.tex"]
    assert all(r.error is None for r in compile_pdfs(paths))
    assert len(_formats(tmp_path)) == 2                                    # one per preamble
    assert "CUSTOMISED FORMAT" in (tmp_path / "rnn-text.log").read_text(encoding="latin-1")
    with_format = [p.with_suffix(".pdf").read_bytes() for p in paths]
    monkeypatch.setattr(latexformat, "link_format", lambda tex, work: None)
    assert all(r.error is None for r in compile_pdfs(paths))
    assert "CUSTOMISED FORMAT" not in (tmp_path / "rnn-text.log").read_text(encoding="latin-1")
    assert [p.with_suffix(".pdf").read_bytes() for p in paths] == with_format


def test_documents_of_other_titles_share_one_format_and_keep_their_pdf_titles(tmp_path):
    import subprocess
    run_cli("build", "rnn-text", "--slides", "--out", tmp_path, check=True)
    run_cli("build", "mlp-sigmoid", "--slides", "--out", tmp_path, check=True)
    paths = [tmp_path / "rnn-text.tex", tmp_path / "mlp-sigmoid.tex"]
    assert all(r.error is None for r in compile_pdfs(paths))
    assert len(_formats(tmp_path)) == 1                      # the title comes after the dumped preamble
    for path, title in ((paths[0], "Predicting the next word"), (paths[1], "Backpropagation through a 2-2-2")):
        assert "CUSTOMISED FORMAT" in path.with_suffix(".log").read_text(encoding="latin-1")
        info = subprocess.run(["pdfinfo", str(path.with_suffix(".pdf"))], capture_output=True, text=True).stdout
        assert f"Title:           {title}" in info
        assert title in subprocess.run(["pdftotext", "-l", "1", str(path.with_suffix(".pdf")), "-"],
                                       capture_output=True, text=True).stdout


def test_a_format_is_made_again_when_a_tex_file_it_was_made_from_changed(tmp_path):
    tex = tmp_path / "doc.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\nx\n\\end{document}\n")
    work = tmp_path / "work"
    work.mkdir()
    name = link_format(tex, work)
    (fmt,) = _formats(tmp_path)
    assert fmt.stem == name and (work / fmt.name).exists()
    made = fmt.stat().st_ino
    (work / fmt.name).unlink()
    assert link_format(tex, work) == name and fmt.stat().st_ino == made   # reused as it is
    deps = fmt.with_suffix(".deps")
    record = json.loads(deps.read_text())
    amsmath = next(entry for entry in record["files"] if entry[0].endswith("/amsmath.sty"))
    amsmath[1] += 1                                                      # as if amsmath.sty had been updated
    deps.write_text(json.dumps(record))
    (work / fmt.name).unlink()
    assert link_format(tex, work) == name and fmt.stat().st_ino != made  # made anew


def test_a_preamble_that_cannot_be_dumped_compiles_without_a_format(tmp_path):
    tex = tmp_path / "grouped.tex"      # \dump refuses to run inside a group; a normal run does not care
    tex.write_text("\\documentclass{article}\n\\begingroup\n\\begin{document}\nGrouped text.\n\\endgroup\n"
                   "\\end{document}\n")
    assert link_format(tex, tmp_path) is None
    result = compile_pdfs([tex])[0]
    assert result.error is None and result.passes == 1
    assert _formats(tmp_path) == []
