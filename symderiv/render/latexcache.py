"""Where a document's LaTeX auxiliary files are kept between builds.

Each document has a cache directory keyed by its path: ``DIR/.symderiv-latex/NAME/`` for
``DIR/NAME.tex`` (beside the output, so it goes when the output directory goes). It holds the
auxiliary files (.aux, .nav, .toc, .out, ...) of the last build that succeeded, so the next build
starts from them and, when the document's structure has not changed, needs one pdflatex pass.

A build compiles in a fresh directory next to the cache (same file system, so the PDF is moved
into place with one rename) and replaces the cache only when LaTeX succeeded: a failed build
leaves both the earlier PDF and the earlier cache as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

CACHE_DIRNAME = ".symderiv-latex"
#: A build directory this old was left by a build that was killed.
STALE_SECONDS = 24 * 3600
#: Files of a build that are not worth keeping: the source is written anew, the rest are products.
_NOT_KEPT = (".tex", ".pdf", ".log", ".fls", ".fmt")


def cache_dir(tex: Path) -> Path:
    """The cache directory of the document ``tex``."""
    return tex.parent / CACHE_DIRNAME / tex.stem


def new_workdir(tex: Path) -> Path:
    """A fresh, empty directory to compile ``tex`` in, beside its cache directory.

    Directories left behind by a build that was killed (a day old or more) are removed first.
    """
    root = tex.parent / CACHE_DIRNAME
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".{tex.stem}.*"):
        try:
            if time.time() - stale.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=f".{tex.stem}.", dir=root))


def restore(tex: Path, work: Path) -> bool:
    """Copy the cached auxiliary files of ``tex`` into ``work``; False when there are none."""
    cache = cache_dir(tex)
    if not cache.is_dir():
        return False
    found = False
    for path in cache.iterdir():
        if path.is_file() and path.suffix not in _NOT_KEPT:
            shutil.copy2(path, work / path.name)
            found = True
    return found


def store(tex: Path, work: Path) -> None:
    """Make the auxiliary files in ``work`` (after a successful build) the cache of ``tex``.

    ``work`` itself becomes the cache directory (renamed into place); the products are dropped.
    """
    for path in work.iterdir():
        if path.is_file() and path.suffix in _NOT_KEPT:
            path.unlink()
    cache = cache_dir(tex)
    old = Path(tempfile.mkdtemp(prefix=f".{tex.stem}.old.", dir=cache.parent))
    try:
        if cache.exists():
            os.replace(cache, old / "cache")
        os.replace(work, cache)
    except OSError:
        pass     # another build of the same document got there first: its cache is as good as ours
    finally:
        shutil.rmtree(old, ignore_errors=True)
