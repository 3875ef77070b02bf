"""A precompiled preamble: a pdflatex format holding a document's preamble, made once and reused.

Loading the classes and packages of a preamble (Beamer, TikZ, amsmath, ...) is a fixed cost of
every pdflatex pass, about 0.4 s of the deck's 2.9 s. ``mylatexformat`` (TeX Live) dumps the
state at ``\\begin{document}`` into a format; a pass started from it skips the preamble. The
format is keyed by the preamble's text and kept in ``DIR/.symderiv-latex/formats/`` with the
list of TeX Live files it was made from (size and modification time): a changed preamble or an
updated package gives a new format, never a stale one. The eight most recently used are kept.

A pass from the format writes the same PDF, byte for byte, as a pass without it: mylatexformat's
preloading of extra fonts is switched off (it renumbers the PDF's font resources), and the one
colour that xcolor pushes on pdfTeX's colour stack while the preamble loads (a state a format
cannot hold) is pushed again when the job starts. ``tests/test_compile.py`` checks the equality.
A preamble that cannot be dumped is simply compiled without a format.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from symderiv.render.latexcache import CACHE_DIRNAME
from symderiv.render.latexrun import TIMEOUT_SECONDS, environment, recorded_paths

FORMATS_DIRNAME = "formats"
#: Where a template ends the part of its preamble that goes into the format (``\relax`` without one).
END_OF_DUMP = "\\csname endofdump\\endcsname"
KEEP = 8
#: Read by ``pdflatex -ini "&pdflatex" mylatexformat.ltx DRIVER``: the document's preamble, dumped at
#: \begin{document}, without the font preloading, with xcolor's colour push replayed at the start of a job.
_DRIVER = r"""\makeatletter
\let\MYLATEX@fontpreloading\relax
\AddToHook{package/xcolor/after}{\xdef\symderiv@xcolorpush{\current@color}}
\everyjob{\ifdefined\symderiv@xcolorpush\pdfcolorstack\@pdfcolorstack push{\symderiv@xcolorpush}\fi}
\makeatother
\input{%s}
"""
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def link_format(tex: Path, work: Path) -> str | None:
    """A format of ``tex``'s preamble, linked into ``work``: its name for ``-fmt``, or ``None``.

    The format is made first when there is none for this preamble (or TeX Live changed since).
    ``None`` when the preamble cannot be dumped or mylatexformat is missing.
    """
    text = tex.read_text(encoding="utf-8")
    preamble, sep, _ = text.partition("\\begin{document}")
    if not sep:
        return None
    # mylatexformat dumps the preamble up to \endofdump (else up to \begin{document}), and a job started
    # from the format reads the document from there on: what follows (a title) may differ between
    # documents that share one format.
    preamble = preamble.partition(END_OF_DUMP)[0]
    key = "symderiv-" + hashlib.sha256(preamble.encode("utf-8")).hexdigest()[:20]
    formats = tex.parent / CACHE_DIRNAME / FORMATS_DIRNAME
    fmt = formats / f"{key}.fmt"
    with _lock(str(fmt)):
        if not _fresh(fmt):
            _dump(tex, formats, key)
        try:
            try:
                os.link(fmt, work / fmt.name)
            except OSError:
                shutil.copyfile(fmt, work / fmt.name)
            os.utime(fmt)
        except OSError:
            return None                  # none could be made (or another build just pruned it)
    _prune(formats)
    return key


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def _fresh(fmt: Path) -> bool:
    """Whether ``fmt`` (or the record that it could not be made) is still valid for the installed TeX."""
    deps = fmt.with_suffix(".deps")
    try:
        recorded = json.loads(deps.read_text(encoding="utf-8"))
        for path, size, mtime in recorded["files"]:
            stat = os.stat(path)
            if stat.st_size != size or stat.st_mtime_ns != mtime:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded.get("ok", False) == fmt.exists()


def _dump(tex: Path, formats: Path, key: str) -> None:
    """Make ``formats/key.fmt`` from ``tex``'s preamble, with its ``.deps`` record (also on failure)."""
    formats.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".dump.", dir=formats))
    try:
        shutil.copyfile(tex, build / tex.name)
        (build / "symderiv-format.tex").write_text(_DRIVER % tex.name, encoding="utf-8")
        cmd = ["pdflatex", "-ini", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "-recorder",
               f"-jobname={key}", "&pdflatex", "mylatexformat.ltx", "symderiv-format.tex"]
        try:
            proc = subprocess.run(cmd, cwd=build, env=environment(), capture_output=True, text=True,
                                  errors="replace", timeout=TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
            ok = proc.returncode == 0 and (build / f"{key}.fmt").exists()
        except subprocess.TimeoutExpired:
            ok = False
        files = []
        for path in sorted(set(recorded_paths(build / f"{key}.fls", reads=True))):
            if not path.startswith(str(build)) and os.path.isfile(path):
                stat = os.stat(path)
                files.append([path, stat.st_size, stat.st_mtime_ns])
        if not files:
            return                       # nothing recorded (pdflatex did not even start): try again next time
        (formats / f"{key}.fmt").unlink(missing_ok=True)
        if ok:
            os.replace(build / f"{key}.fmt", formats / f"{key}.fmt")
        # Written last: a format without its record is not trusted.
        (build / "deps").write_text(json.dumps({"ok": ok, "files": sorted(files)}), encoding="utf-8")
        os.replace(build / "deps", formats / f"{key}.deps")
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _prune(formats: Path) -> None:
    """Keep the ``KEEP`` most recently used formats."""
    found = []
    for fmt in formats.glob("symderiv-*.fmt"):
        try:
            found.append((fmt.stat().st_mtime_ns, fmt))
        except OSError:
            continue
    for _, fmt in sorted(found, reverse=True)[KEEP:]:
        fmt.unlink(missing_ok=True)
        fmt.with_suffix(".deps").unlink(missing_ok=True)
