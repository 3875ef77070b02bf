"""Variants as PDFs: the mark on every page, the same bytes from the same seed, a LaTeX failure that costs
only its own variant, and a rerun that builds only what is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import symderiv.variants.build as build_module
from conftest import run_cli
from symderiv.variants.mark import write_mark_template
from symderiv.variants.run import Request, VariantsFailed, run_variants

pytestmark = pytest.mark.latex


def pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if shutil.which("pdflatex") is None:
        pytest.fail("pdflatex is missing: `make test` installs TeX Live (.ci/setup tex)")
    out = tmp_path_factory.mktemp("pdf") / "D"
    proc = run_cli("variants", "rnn-text", "--count", 2, "--seed", 11, "--jobs", 2, "--out", out, "--pdf", check=True)
    return out, proc


def test_every_page_carries_the_variants_number_and_seed(built):
    out, _ = built
    for n in (1, 2):
        for document in ("questions.pdf", "solutions.pdf"):
            found = pages(out / f"rnn-text-v0{n}" / document)
            assert len(found) >= (1 if document == "questions.pdf" else 3)
            for page in found:
                assert f"rnn-text variant {n} seed 11" in " ".join(page.split()), page[:200]


def test_the_questions_hold_no_solution_and_the_solutions_do(built):
    out, _ = built
    questions = " ".join(pages(out / "rnn-text-v01" / "questions.pdf"))
    solutions = " ".join(pages(out / "rnn-text-v01" / "solutions.pdf"))
    assert "Solution" not in questions and "Solution" in solutions
    assert "Verification" in solutions


def test_pdfs_are_the_same_bytes_from_another_directory(built, tmp_path):
    out, _ = built
    other = tmp_path / "E"
    run_cli("variants", "rnn-text", "--count", 2, "--seed", 11, "--jobs", 1, "--out", other, "--pdf", check=True)
    for n in (1, 2):
        for name in ("questions.pdf", "solutions.pdf", "solutions.tex", "spec.toml"):
            assert (other / f"rnn-text-v0{n}" / name).read_bytes() == (out / f"rnn-text-v0{n}" / name).read_bytes()


def test_a_latex_failure_costs_only_its_variant_and_a_rerun_builds_only_it(tmp_path, monkeypatch, capsys):
    def broken_for_variant_2(folder, example, number, seed):
        write_mark_template(folder, example, number, seed)
        if number == 2:
            mark = folder / "common" / "variant-mark.tex.j2"
            mark.write_text(mark.read_text(encoding="utf-8").replace(r"\makeatother", r"\makeatother\nosuchmacro"),
                            encoding="utf-8")

    monkeypatch.setattr(build_module, "write_mark_template", broken_for_variant_2)
    out = tmp_path / "D"
    request = Request("rnn-text", 3, 5, out, jobs=1, pdf=True)
    with pytest.raises(VariantsFailed, match=r"^1 of 3 variants failed \(2\); the others are written"):
        run_variants(request, say=lambda line: None)
    err = capsys.readouterr().err
    assert f"symderiv: error: variant 2 ({out / 'rnn-text-v02'}): LaTeX failed on rnn-text-v02-" in err
    assert "Undefined control sequence" in err
    for n in (1, 3):
        assert (out / f"rnn-text-v0{n}" / "solutions.pdf").exists()
    broken = out / "rnn-text-v02"
    assert not (broken / "solutions.pdf").exists() and not (broken / "questions.pdf").exists()
    assert "nosuchmacro" in (broken / "solutions.tex").read_text() and (broken / "solutions.log").exists()
    assert (out / "answers.json").exists()                       # the answer key is whole all the same

    monkeypatch.undo()
    lines = []
    outcome = run_variants(request, say=lines.append)
    assert (outcome.built, sorted(outcome.up_to_date)) == ([2], [1, 3])
    assert (broken / "solutions.pdf").exists() and "nosuchmacro" not in (broken / "solutions.tex").read_text()
    assert "(1 built, 2 already up to date)" in lines[0]


def test_a_build_without_pdf_leaves_no_stale_pdf(built, tmp_path):
    out, _ = built
    copy = tmp_path / "D"
    shutil.copytree(out, copy)
    # another seed into the same directory, without --pdf: the earlier PDFs belong to other variants
    run_cli("variants", "rnn-text", "--count", 2, "--seed", 12, "--jobs", 1, "--out", copy, check=True)
    for n in (1, 2):
        folder = copy / f"rnn-text-v0{n}"
        assert not list(folder.glob("*.pdf"))
        assert "seed 12" in (folder / "solutions.tex").read_text()
