"""pdflatex passes over one document until its auxiliary files settle.

LaTeX writes, at the end of a pass, what the next pass reads at its start (the .aux with labels
and page totals, Beamer's .nav with the frame count, the .toc, the bookmarks' .out). A pass is
the last one needed when it read exactly what it wrote: then another pass would read the same and
write the same PDF. That is checked here from pdflatex's own record of the files it opened
(``-recorder``, the .fls file), not from a list of extensions:

* a file that was there before the pass, and that the pass read and then wrote differently: run
  again;
* a file the pass wrote that was not there before (so it could not be read at the start): run
  again, except the .aux, whose content the next pass uses only for labels, citations and the page
  total, for which LaTeX and its packages say themselves when a rerun is needed;
* a request in the log ("Rerun to get cross-references right", longtable's "Rerun LaTeX", ...).

So a document that starts with the auxiliary files of its previous build (or with a correct
prediction of them, :mod:`symderiv.render.beamer_aux`) needs a single pass, and a wrong or stale
guess only costs passes. We drive pdflatex ourselves rather than through latexmk because latexmk
counts every auxiliary file it has not seen before as changed, so a first build always takes two
passes even when the files were right from the start.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: pdflatex without \write18 (not even the restricted list), no interaction, stop at the first error;
#: ``-recorder`` lists every file the pass opened (the .fls file).
PDFLATEX = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
            "-recorder"]
#: As latexmk: a document whose files still change after this many passes is left as it is.
MAX_PASSES = 5
TIMEOUT_SECONDS = 300
#: Files of a pass that no later pass reads.
_PRODUCTS = (".pdf", ".log", ".fls", ".synctex.gz")
#: How LaTeX and its packages ask for another pass.
_RERUN = re.compile(r"Rerun to get|Rerun LaTeX|[Rr]erun to correct|Please rerun LaTeX|may have changed\. Rerun")


@dataclass(frozen=True)
class Passes:
    """What the passes over one document did: how many ran, whether the last one succeeded, its log."""

    count: int
    ok: bool
    log: str
    output: str           # pdflatex's terminal output of the last pass (for a failure without a log)
    settled: bool         # False: the auxiliary files still changed after MAX_PASSES passes


def environment() -> dict:
    """The environment of every pdflatex run: confined file access, no shell, reproducible output."""
    env = dict(os.environ)
    env.update({
        "openout_any": "p",           # TeX may write only below the build directory
        "openin_any": "p",            # ... and may not read dot files or files above it
        "shell_escape": "f",
        "SOURCE_DATE_EPOCH": "0",     # reproducible PDF dates and IDs
        "FORCE_SOURCE_DATE": "1",
        "max_print_line": "1000",     # long log lines unbroken, so errors and box warnings parse
    })
    return env


def run_until_settled(work: Path, tex_name: str, fmt: str | None = None, max_passes: int = MAX_PASSES) -> Passes:
    """Run pdflatex on ``work/tex_name`` (in ``work``) until the auxiliary files settle or a pass fails.

    ``fmt``: the name of a format in ``work`` holding the document's preamble (:mod:`symderiv.render.latexformat`).
    """
    stem = Path(tex_name).stem
    env = environment()
    cmd = [*PDFLATEX, *([f"-fmt={fmt}"] if fmt else []), tex_name]
    for count in range(1, max_passes + 1):
        before = _snapshot(work, tex_name)
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                                  errors="replace", timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return Passes(count, False, "", f"pdflatex did not finish within {TIMEOUT_SECONDS} s", True)
        log_path = work / f"{stem}.log"
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
        if proc.returncode != 0 or not (work / f"{stem}.pdf").exists():
            return Passes(count, False, log, proc.stdout + proc.stderr, True)
        if not rerun_reasons(work, stem, before, log):
            return Passes(count, True, log, proc.stdout, True)
    return Passes(max_passes, True, log, proc.stdout, False)


def rerun_reasons(work: Path, stem: str, before: dict[str, bytes], log: str) -> list[str]:
    """Why the pass just run in ``work`` is not the last one (empty: it is).

    ``before`` is :func:`_snapshot` of ``work`` taken before the pass; the pass's .fls says what it read
    and wrote.
    """
    reads, writes = _recorded(work, work / f"{stem}.fls")
    reasons = []
    for name in sorted(writes):
        if name.endswith(_PRODUCTS):
            continue
        if name not in before:
            # Not there at the start, so not read then (LaTeX reads back the .aux it has just written,
            # at \end{document}: that is not the next pass's start).
            if not name.endswith(".aux"):
                reasons.append(f"{name} is new")
        elif name in reads and before[name] != _digest(work / name):
            reasons.append(f"{name} changed")
    reasons += sorted({m.group() for m in _RERUN.finditer(log)})
    return reasons


def _snapshot(work: Path, tex_name: str) -> dict[str, bytes]:
    """A digest of each auxiliary file in ``work`` (everything but the source, the products and formats)."""
    return {p.name: _digest(p) for p in work.iterdir()
            if p.is_file() and p.name != tex_name and not p.name.endswith((*_PRODUCTS, ".fmt"))}


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except FileNotFoundError:
        return None


def _recorded(work: Path, fls: Path) -> tuple[set[str], set[str]]:
    """The names of the files in ``work`` that the pass read, and those it wrote (from its .fls file)."""
    here = str(work.resolve())
    return ({os.path.basename(p) for p in recorded_paths(fls, reads=True) if os.path.dirname(p) == here},
            {os.path.basename(p) for p in recorded_paths(fls, reads=False) if os.path.dirname(p) == here})


def recorded_paths(fls: Path, reads: bool) -> list[str]:
    """The absolute paths of the files a pdflatex run read (``reads``) or wrote, from its ``-recorder`` file."""
    try:
        lines = fls.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    kind_wanted = "INPUT" if reads else "OUTPUT"
    pwd, out = str(fls.parent.resolve()), []
    for line in lines:
        kind, _, name = line.partition(" ")
        if kind == "PWD":
            pwd = name
        elif kind == kind_wanted:
            out.append(os.path.normpath(os.path.join(pwd, name)))
    return out
