"""Compiling PDFs: documents side by side, the auxiliary-file cache, pass counts, errors kept apart.

The concurrency tests replace pdflatex by a stand-in that waits at a barrier: they pass only if the
documents really are compiled at the same time (and never more at once than allowed); nothing is
timed. The others run real pdflatex on small documents and read the PDFs back with pdftotext.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import run_cli
from symderiv.render import compile as compile_module
from symderiv.render import latexformat
from symderiv.render.compile import compile_pdfs
from symderiv.render.latexcache import cache_dir
from symderiv.render.latexrun import Passes


def _text(pdf) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", out)


# -- side by side, bounded (pdflatex replaced by a stand-in) --------------------------------------
def _fake_latex(monkeypatch, barrier: threading.Barrier, record: dict):
    lock = threading.Lock()

    def run(work, tex_name, fmt=None):
        with lock:
            record["now"] += 1
            record["most"] = max(record["most"], record["now"])
        try:
            barrier.wait()
        finally:
            with lock:
                record["now"] -= 1
        stem = tex_name.removesuffix(".tex")
        (work / f"{stem}.pdf").write_bytes(b"%PDF-1.5 stand-in")
        (work / f"{stem}.log").write_text("")
        return Passes(1, True, "", "", True)

    monkeypatch.setattr(compile_module, "run_until_settled", run)
    monkeypatch.setattr(latexformat, "link_format", lambda tex, work: None)


def _sources(tmp_path, count: int):
    paths = []
    for i in range(count):
        path = tmp_path / f"doc{i}.tex"
        path.write_text("\\documentclass{article}\\begin{document}x\\end{document}\n")
        paths.append(path)
    return paths


def test_the_documents_of_a_build_compile_at_the_same_time(tmp_path, monkeypatch):
    record = {"now": 0, "most": 0}
    # Both stand-ins must be inside pdflatex together to pass the barrier; one after the other
    # they would wait for ever (the timeout only turns that into a failure).
    _fake_latex(monkeypatch, threading.Barrier(2, timeout=60), record)
    results = compile_pdfs(_sources(tmp_path, 2), jobs=2)
    assert [r.error for r in results] == [None, None]
    assert record["most"] == 2
    assert all(r.pdf.read_bytes() == b"%PDF-1.5 stand-in" for r in results)


def test_no_more_documents_at_once_than_cores(tmp_path, monkeypatch):
    record = {"now": 0, "most": 0}
    _fake_latex(monkeypatch, threading.Barrier(1), record)
    sizes = []

    class Recording(ThreadPoolExecutor):
        def __init__(self, max_workers=None, **kwargs):
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(compile_module, "ThreadPoolExecutor", Recording)
    cores = len(os.sched_getaffinity(0))
    results = compile_pdfs(_sources(tmp_path, cores + 3))
    assert [r.error for r in results] == [None] * (cores + 3)
    compile_pdfs(_sources(tmp_path, 3), jobs=1)
    compile_pdfs(_sources(tmp_path, 1))
    assert sizes == [cores, 1, 1]
    assert record["most"] <= cores


# -- real pdflatex ---------------------------------------------------------------------------------
ARTICLE = r"""\documentclass{article}
\begin{document}
\section{First}\label{sec:first}
See section~\ref{sec:last} on page~\pageref{sec:last}.
%s
\section{Last}\label{sec:last}
Back to section~\ref{sec:first}.
\end{document}
"""


@pytest.mark.latex
def test_a_rebuild_starts_from_the_cached_aux_files_and_needs_one_pass(tmp_path):
    tex = tmp_path / "notes.tex"
    tex.write_text(ARTICLE % "")
    first = compile_pdfs([tex])[0]
    assert (first.error, first.passes, first.start) == (None, 2, "nothing")  # labels need a second pass
    cold = tex.with_suffix(".pdf").read_bytes()
    assert "See section 2 on page 1" in _text(tex.with_suffix(".pdf"))
    assert (cache_dir(tex) / "notes.aux").exists() and cache_dir(tex) == tmp_path / ".symderiv-latex" / "notes"

    again = compile_pdfs([tex])[0]
    assert (again.error, again.passes, again.start) == (None, 1, "cache")
    assert tex.with_suffix(".pdf").read_bytes() == cold            # the cached rebuild writes the same bytes

    # A new section moves the label: the cached .aux is stale, and the loop notices.
    tex.write_text(ARTICLE % "\\section{Middle}\\newpage Text.")
    moved = compile_pdfs([tex])[0]
    assert moved.error is None and moved.passes == 2
    text = _text(tex.with_suffix(".pdf"))
    assert "See section 3 on page 2" in text and "??" not in text


@pytest.mark.latex
def test_the_first_build_of_a_deck_takes_one_pass_and_counts_its_frames(tmp_path):
    proc = run_cli("build", "rnn-text", "--slides", "--pdf", "--out", tmp_path, check=True)
    assert "wrote " + str(tmp_path / "rnn-text.pdf") + " (1 pdflatex pass)" in proc.stdout
    tex = (tmp_path / "rnn-text.tex").read_text()
    frames = len(re.findall(r"\\begin\{frame\}", tex))
    pages = subprocess.run(["pdftotext", str(tmp_path / "rnn-text.pdf"), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")[:-1]
    assert len(pages) == frames
    for number, page in enumerate(pages, start=1):       # the footer counter "n / N" on every slide
        assert re.search(rf"\b{number} / {frames}\b", page), number
    again = run_cli("build", "rnn-text", "--slides", "--pdf", "--out", tmp_path, check=True)
    assert "(1 pdflatex pass)" in again.stdout


@pytest.mark.latex
def test_cold_builds_and_a_cached_rebuild_give_the_same_bytes(tmp_path):
    pdfs = []
    for name in ("a", "b"):
        run_cli("build", "rnn-text", "--pdf", "--out", tmp_path / name, check=True)
        pdfs.append({stem: (tmp_path / name / f"{stem}.pdf").read_bytes() for stem in ("rnn-text", "rnn-text-solutions")})
    run_cli("build", "rnn-text", "--pdf", "--out", tmp_path / "a", check=True)
    pdfs.append({stem: (tmp_path / "a" / f"{stem}.pdf").read_bytes() for stem in ("rnn-text", "rnn-text-solutions")})
    assert pdfs[0] == pdfs[1] == pdfs[2]


@pytest.mark.latex
def test_a_failing_document_is_reported_alone_and_the_others_are_built(tmp_path):
    good, bad = tmp_path / "good.tex", tmp_path / "bad.tex"
    good.write_text(ARTICLE % "")
    bad.write_text(ARTICLE % "")
    assert all(r.error is None for r in compile_pdfs([good, bad]))
    earlier_pdf, earlier_cache = bad.with_suffix(".pdf").read_bytes(), (cache_dir(bad) / "bad.aux").read_bytes()
    good.unlink()
    good.with_suffix(".pdf").unlink()
    good.write_text(ARTICLE % "All fine.")
    bad.write_text(ARTICLE % "\\nosuchcommandhere")
    results = compile_pdfs([good, bad])
    assert results[0].error is None and "All fine." in _text(good.with_suffix(".pdf"))
    message = str(results[1].error)
    assert message.startswith("LaTeX failed on bad.tex") and "Undefined control sequence" in message
    assert "nosuchcommandhere" in message and "good.tex" not in message
    assert bad.with_suffix(".pdf").read_bytes() == earlier_pdf               # the earlier PDF is kept ...
    assert (cache_dir(bad) / "bad.aux").read_bytes() == earlier_cache        # ... and so is its cache
    assert "nosuchcommandhere" in bad.with_suffix(".log").read_text(encoding="latin-1")


@pytest.mark.latex
def test_cached_files_that_break_latex_are_dropped(tmp_path):
    tex = tmp_path / "notes.tex"
    tex.write_text(ARTICLE % "")
    assert compile_pdfs([tex])[0].error is None
    (cache_dir(tex) / "notes.aux").write_text("\\relax\n\\nosuchmacroinaux\n")
    result = compile_pdfs([tex])[0]
    assert result.error is None and result.passes == 3        # 1 failed from the cache, then 2 from nothing
    assert "See section 2 on page 1" in _text(tex.with_suffix(".pdf"))


@pytest.mark.latex
def test_a_parallel_cli_build_names_each_failing_document(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    from conftest import ROOT
    deck = (ROOT / "symderiv" / "templates" / "deck.tex.j2").read_text()
    (templates / "deck.tex.j2").write_text(deck.replace(r"\begin{document}", r"\begin{document}\deckbroken", 1))
    proc = run_cli("build", "rnn-text", "rnn-timeseries", "--pdf", "--templates", templates, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    for stem in ("rnn-text", "rnn-timeseries"):
        assert f"LaTeX failed on {stem}.tex" in proc.stderr
        assert f"wrote {tmp_path / 'out' / stem}-solutions.pdf" in proc.stdout      # the solutions still built
        assert not (tmp_path / "out" / f"{stem}.pdf").exists()
    blocks = proc.stderr.split("LaTeX failed on ")[1:]
    assert len(blocks) == 2 and all("\\deckbroken" in block for block in blocks)
