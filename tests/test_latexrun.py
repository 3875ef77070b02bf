"""When is a pdflatex pass the last one? The rules of :func:`symderiv.render.latexrun.rerun_reasons`.

Each case builds a work directory by hand: the files as they were before the pass (the snapshot),
the files after it, and the pass's ``-recorder`` record of what it read and wrote.
"""

from __future__ import annotations

from symderiv.render.latexrun import _snapshot, recorded_paths, rerun_reasons


def _pass(tmp_path, before: dict, after: dict, reads=(), writes=(), log=""):
    """Files ``before`` the pass, then ``after`` it, with an .fls naming ``reads`` and ``writes``."""
    for name, text in before.items():
        (tmp_path / name).write_text(text)
    snapshot = _snapshot(tmp_path, "doc.tex")
    for name in before:
        if name not in after:
            (tmp_path / name).unlink()
    for name, text in after.items():
        (tmp_path / name).write_text(text)
    fls = [f"PWD {tmp_path}", "INPUT /usr/share/texlive/texmf-dist/tex/latex/base/article.cls", "INPUT doc.tex"]
    fls += [f"INPUT ./{name}" for name in reads] + [f"OUTPUT {name}" for name in writes]
    (tmp_path / "doc.fls").write_text("\n".join(fls) + "\n")
    return rerun_reasons(tmp_path, "doc", snapshot, log)


def test_a_pass_that_read_what_it_wrote_is_the_last(tmp_path):
    files = {"doc.aux": "\\newlabel{a}{{1}{1}}\n", "doc.toc": "x\n"}
    assert _pass(tmp_path, files, files, reads=["doc.aux", "doc.toc"],
                 writes=["doc.aux", "doc.toc", "doc.log", "doc.pdf"]) == []


def test_a_file_read_and_written_differently_asks_for_another_pass(tmp_path):
    reasons = _pass(tmp_path, {"doc.nav": "old\n"}, {"doc.nav": "new\n"}, reads=["doc.nav"], writes=["doc.nav"])
    assert reasons == ["doc.nav changed"]


def test_a_new_file_asks_for_another_pass_but_a_new_aux_leaves_it_to_latex(tmp_path):
    # The .aux is read back at \end{document} just after it was written: not a read of the old one.
    reasons = _pass(tmp_path, {}, {"doc.aux": "\\relax\n", "doc.toc": "x\n"}, reads=["doc.aux"],
                    writes=["doc.aux", "doc.toc"])
    assert reasons == ["doc.toc is new"]
    alone = tmp_path / "aux-only"
    alone.mkdir()
    assert _pass(alone, {}, {"doc.aux": "\\relax\n"}, reads=["doc.aux"], writes=["doc.aux"]) == []


def test_a_file_written_but_never_read_does_not_count(tmp_path):
    assert _pass(tmp_path, {"doc.snm": ""}, {"doc.snm": "changed\n"}, writes=["doc.snm"]) == []


def test_latex_asking_for_a_rerun_is_heard(tmp_path):
    for message in ("LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.",
                    "Package longtable Warning: Table widths have changed. Rerun LaTeX.",
                    "(rerunfilecheck)                Rerun to get outlines right"):
        work = tmp_path / str(abs(hash(message)))
        work.mkdir()
        assert _pass(work, {}, {}, log=f"x\n{message}\ny\n") != []
    quiet = "Package: rerunfilecheck 2022-07-10 v1.10 Rerun checks for auxiliary files (HO)\n"
    assert _pass(tmp_path, {}, {}, log=quiet) == []


def test_recorded_paths_are_absolute_and_relative_ones_resolve_against_pwd(tmp_path):
    fls = tmp_path / "doc.fls"
    fls.write_text(f"PWD {tmp_path}\nINPUT /etc/texmf/web2c/texmf.cnf\nINPUT ./doc.aux\nOUTPUT doc.pdf\n")
    assert recorded_paths(fls, reads=True) == ["/etc/texmf/web2c/texmf.cnf", str(tmp_path / "doc.aux")]
    assert recorded_paths(fls, reads=False) == [str(tmp_path / "doc.pdf")]
