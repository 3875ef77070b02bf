"""One variant's documents: verify its derivation, render the questions and solutions, compile them.

Run by a worker (a process of the pool or a Dask worker); it returns texts and PDF bytes, and the
caller writes the files, so a worker needs no access to the output folders. The PDFs compile in a
staging folder (``OUT/.symderiv-latex/variants/``, named after the variant) through the compile API,
so all variants share its precompiled preambles, and a rebuilt variant starts from its own
auxiliary files (a cluster worker on a machine without that folder uses its temporary folder). A failure (verification, LaTeX) is reported in the result, never raised, so the
other variants go on.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from symderiv.variants.mark import mark_tex, write_mark_template

#: The documents of a variant: key in render()'s result -> file name in the variant's folder.
DOCUMENTS = {"questions": "questions.tex", "solutions": "solutions.tex"}


@dataclass(frozen=True)
class BuildJob:
    number: int
    folder: str               # "rnn-text-v03": the variant's folder, and its documents' stem when staged
    example: str              # the example's name, printed in the mark
    seed: int
    derivation: object
    digits: int
    pdf: bool
    staging: str              # where the PDFs compile


@dataclass(frozen=True)
class Built:
    number: int
    texts: dict = field(default_factory=dict)     # file name -> LaTeX
    pdfs: dict = field(default_factory=dict)      # file name -> PDF bytes
    logs: dict = field(default_factory=dict)      # file name -> LaTeX log of a document that failed
    error: str | None = None


def build(job: BuildJob) -> Built:
    """Verify, render and (with ``job.pdf``) compile one variant."""
    from symderiv.errors import SymderivError
    from symderiv.lints import lint_derivation
    from symderiv.render import Options, render
    from symderiv.verify import verify

    derivation = job.derivation
    try:
        verification = verify(derivation)
        verification.raise_if_failed()
    except SymderivError as err:
        return Built(job.number, error=str(err))
    lints = lint_derivation(derivation)
    with tempfile.TemporaryDirectory(prefix="symderiv-mark-") as marks:
        write_mark_template(Path(marks), job.example, job.number, job.seed)
        options = Options(slides=False, solutions=True, questions=True, digits=job.digits, templates=Path(marks))
        rendered = render(derivation.example["title"], [(derivation, verification, lints)], options)
    texts = {DOCUMENTS[key]: text for key, text in rendered.items() if key in DOCUMENTS}
    if not job.pdf:
        return Built(job.number, texts)
    return _compiled(job, texts)


def _compiled(job: BuildJob, texts: dict) -> Built:
    from symderiv.errors import SymderivError
    from symderiv.render.compile import compile_pdfs, write_atomic

    staging = Path(job.staging)
    try:
        staging.mkdir(parents=True, exist_ok=True)
    except OSError:              # a cluster worker on a machine without the output folder: compile locally
        staging = Path(tempfile.gettempdir()) / "symderiv-variants"
    staged = {}
    for name, text in texts.items():
        path = staging / f"{job.folder}-{Path(name).stem}.tex"
        write_atomic(path, text)
        staged[name] = path
        _borrow_auxiliary_files(path, f"{job.folder.rpartition('-v')[0]}-v*-{Path(name).stem}")
    try:
        results = compile_pdfs(list(staged.values()), jobs=1)
    except SymderivError as err:
        return Built(job.number, texts, error=str(err))
    pdfs, logs, errors = {}, {}, []
    for (name, path), result in zip(staged.items(), results):
        if result.error is None:
            pdfs[Path(name).with_suffix(".pdf").name] = result.pdf.read_bytes()
            for leftover in (result.pdf, path.with_suffix(".log"), path):
                leftover.unlink(missing_ok=True)
        else:
            errors.append(str(result.error))
            log = path.with_suffix(".log")
            logs[Path(name).with_suffix(".log").name] = log.read_text(encoding="utf-8", errors="replace") \
                if log.exists() else ""
    return Built(job.number, texts, pdfs, logs, "\n".join(errors) or None)


def _borrow_auxiliary_files(tex: Path, siblings: str) -> None:
    """Start a variant's first build from the auxiliary files of another variant's same document.

    The variants of one exercise have the same structure (labels, page count), so the questions
    settle in one pdflatex pass instead of two; where the borrowed files are wrong (the solutions'
    column widths), pdflatex simply runs again until they settle, and the PDF is the same. A document
    with auxiliary files of its own keeps them.
    """
    from symderiv.render import latexcache

    mine = latexcache.cache_dir(tex)
    if mine.exists():
        return
    for donor in sorted(mine.parent.glob(siblings)):
        if donor == mine or not donor.is_dir():
            continue
        copy = Path(tempfile.mkdtemp(prefix=f".{tex.stem}.", dir=mine.parent))   # swept like a killed build's
        try:
            for path in donor.iterdir():
                if path.is_file():            # named after the donor's job: rnn-text-v01-questions.aux
                    own = tex.stem + path.name[len(donor.name):] if path.name.startswith(donor.name) else path.name
                    shutil.copy2(path, copy / own)
            os.replace(copy, mine)
            return
        except OSError:          # the donor was being replaced, or our own files appeared meanwhile
            shutil.rmtree(copy, ignore_errors=True)


def build_hash(spec_text: str, example: str, number: int, seed: int, digits: int, pdf: bool) -> str:
    """What a variant's files depend on: its spec, its mark, the templates, symderiv's version and the
    options. The same hash and the same files on disk: nothing to rebuild."""
    from symderiv import __version__

    digest = hashlib.sha256()
    for part in (__version__, str(digits), str(pdf), spec_text, mark_tex(example, number, seed), _templates_digest()):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _templates_digest() -> str:
    digest = hashlib.sha256()

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".j2"):
                digest.update(f"{prefix}{child.name}\0".encode("utf-8") + child.read_bytes() + b"\0")

    walk(resources.files("symderiv").joinpath("templates"), "")
    return digest.hexdigest()
