"""Files in place and PDFs from them: atomic writes, latexmk + pdflatex with shell escape off.

A document is written to a temporary file next to its target and renamed over it, so a reader
never sees half a file. A PDF is compiled in a private temporary directory and only a PDF that
compiled without error is moved into place: a failed run leaves the earlier good PDF untouched
and reports the error lines of the LaTeX log (the full log is kept beside the output).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from symderiv.errors import SymderivError

#: pdflatex without \write18 (not even the restricted list), no interaction, stop at the first error.
PDFLATEX = "pdflatex -no-shell-escape -interaction=nonstopmode -halt-on-error -file-line-error %O %S"
#: How many log lines an error report shows.
ERROR_CONTEXT = 6
TIMEOUT_SECONDS = 300


class LatexError(SymderivError):
    """pdflatex stopped with an error; the message holds the relevant lines of the log."""


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


def _environment() -> dict:
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


def compile_pdf(tex_path: Path) -> Path:
    """Compile ``tex_path`` to a PDF beside it; raises :class:`LatexError` with the log's error lines."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        raise SymderivError("latexmk and pdflatex are needed for --pdf (run `make setup`, "
                            "or install TeX Live: texlive-latex-extra, texlive-pictures, latexmk)")
    tex_path = Path(tex_path).resolve()
    target = tex_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="symderiv-latex-") as build:
        work = Path(build)
        shutil.copyfile(tex_path, work / tex_path.name)
        cmd = ["latexmk", "-norc", "-pdf", f"-pdflatex={PDFLATEX}", "-silent", tex_path.name]
        try:
            proc = subprocess.run(cmd, cwd=work, env=_environment(), capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise LatexError(f"pdflatex did not finish {tex_path.name} within {TIMEOUT_SECONDS} s") from None
        log_path = work / tex_path.with_suffix(".log").name
        log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
        pdf = work / target.name
        if proc.returncode != 0 or not pdf.exists() or error_lines(log):
            kept = tex_path.with_suffix(".log")
            write_atomic(kept, log or proc.stdout + proc.stderr)
            lines = error_lines(log) or (proc.stdout + proc.stderr).strip().splitlines()[-ERROR_CONTEXT:]
            raise LatexError(f"LaTeX failed on {tex_path.name} (full log: {kept}; "
                             f"an earlier PDF, if any, is unchanged):\n  " + "\n  ".join(lines))
        shutil.copyfile(log_path, tex_path.with_suffix(".log"))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(pdf, tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return target


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
