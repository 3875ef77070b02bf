"""Files in place and PDFs from them: atomic writes, and pdflatex (shell escape off) for several documents at once.

A document is written to a temporary file next to its target and renamed over it, so a reader
never sees half a file. The documents of one build are compiled side by side, one pdflatex
process per document and at most one per core (a :class:`concurrent.futures.ThreadPoolExecutor`
whose threads each wait on their document's pdflatex). Each document starts from the auxiliary
files of its previous build (:mod:`symderiv.render.latexcache`) or, on its first build, from
their prediction (:mod:`symderiv.render.beamer_aux`), and pdflatex runs until they settle
(:mod:`symderiv.render.latexrun`): usually one pass. Only a PDF that compiled without error is
moved into place: a failed document leaves its earlier PDF untouched and reports the error lines
of its own log (the full log is kept beside its .tex), while the other documents are still built.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from symderiv.errors import SymderivError
from symderiv.render import beamer_aux, latexcache, latexformat
from symderiv.render.latexrun import run_until_settled

#: How many log lines an error report shows.
ERROR_CONTEXT = 6


class LatexError(SymderivError):
    """pdflatex stopped with an error; the message holds the relevant lines of the log."""


@dataclass(frozen=True)
class Compiled:
    """The outcome for one document: its PDF and pdflatex pass count, or its error."""

    tex: Path
    passes: int
    error: LatexError | None = None
    settled: bool = True          # False: the auxiliary files still changed after the last pass allowed
    start: str = "nothing"        # what the first pass started from: "cache", "prediction" or "nothing"

    @property
    def pdf(self) -> Path:
        return self.tex.with_suffix(".pdf")

    def summary(self) -> str:
        """``wrote output/lecture.pdf (1 pdflatex pass)``."""
        note = "" if self.settled else "; its cross-references may still be off"
        return f"wrote {self.pdf} ({self.passes} pdflatex pass{'' if self.passes == 1 else 'es'}{note})"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def compile_pdfs(tex_paths, jobs: int | None = None) -> list[Compiled]:
    """Compile each ``.tex`` to a PDF beside it, side by side; one :class:`Compiled` per path, in order.

    At most ``jobs`` documents (default: the number of cores) compile at a time, the largest
    first. A LaTeX error in one document is reported in its :class:`Compiled` and does not stop
    the others.
    """
    if shutil.which("pdflatex") is None:
        raise SymderivError("pdflatex is needed for --pdf (run `make setup`, or install TeX Live: "
                            "texlive-latex-extra, texlive-pictures)")
    paths = [Path(p) for p in tex_paths]
    if not paths:
        return []
    workers = max(1, min(len(paths), jobs or available_cores()))
    largest_first = sorted(range(len(paths)), key=lambda i: -paths[i].stat().st_size)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdflatex") as pool:
        futures = {i: pool.submit(_compile_one, paths[i]) for i in largest_first}
        return [futures[i].result() for i in range(len(paths))]


def _compile_one(given: Path) -> Compiled:
    """One document, start to end, in its own build directory (run by a worker thread of the pool)."""
    tex = given.resolve()
    work = latexcache.new_workdir(tex)
    try:
        start = _prepare(tex, work)
        fmt = latexformat.link_format(tex, work)
        run = run_until_settled(work, tex.name, fmt)
        passes = run.count
        if not run.ok and (start != "nothing" or fmt):
            # Stale or mispredicted auxiliary files, or the format, can themselves break a pass:
            # try once from nothing, without a format.
            shutil.rmtree(work)
            work.mkdir()
            start = _prepare(tex, work, carry=False)
            run = run_until_settled(work, tex.name)
            passes += run.count
        log_path = work / f"{tex.stem}.log"
        if not run.ok:
            kept = given.with_suffix(".log")
            write_atomic(kept, run.log or run.output)
            lines = error_lines(run.log) or run.output.strip().splitlines()[-ERROR_CONTEXT:]
            error = LatexError(f"LaTeX failed on {tex.name} (full log: {kept}; "
                               f"an earlier PDF, if any, is unchanged):\n  " + "\n  ".join(lines))
            return Compiled(given, passes, error, start=start)
        os.replace(log_path, tex.with_suffix(".log"))
        os.replace(work / f"{tex.stem}.pdf", tex.with_suffix(".pdf"))
        latexcache.store(tex, work)
        return Compiled(given, passes, settled=run.settled, start=start)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _prepare(tex: Path, work: Path, carry: bool = True) -> str:
    """Put the source in ``work`` with the best available auxiliary files; say which."""
    shutil.copyfile(tex, work / tex.name)
    if carry and latexcache.restore(tex, work):
        return "cache"
    if carry:
        predicted = beamer_aux.predict(tex.read_text(encoding="utf-8"))
        if predicted is not None:
            for suffix, text in predicted.items():
                (work / f"{tex.stem}{suffix}").write_text(text, encoding="utf-8")
            return "prediction"
    return "nothing"


_ERROR_START = re.compile(r"^(! |.+:\d+: )")


def error_lines(log: str) -> list[str]:
    """The lines of a LaTeX log that say what went wrong: each ``!`` or ``file:line:`` error and its context."""
    lines = log.splitlines()
    out = []
    for i, line in enumerate(lines):
        if _ERROR_START.match(line) and not line.startswith("! pdfTeX warning"):
            out.extend(l for l in lines[i:i + ERROR_CONTEXT] if l.strip())
            if len(out) > 3 * ERROR_CONTEXT:
                break
    return out


_OVERFULL = re.compile(r"^Overfull \\hbox \(([0-9.]+)pt too wide\)(.*)$", re.M)


def overfull_boxes(log: str, tolerance_pt: float = 1.0) -> list[tuple[float, str]]:
    """Overfull \\hbox warnings wider than ``tolerance_pt`` as (points, where)."""
    return [(float(m.group(1)), m.group(2).strip()) for m in _OVERFULL.finditer(log)
            if float(m.group(1)) > tolerance_pt]
