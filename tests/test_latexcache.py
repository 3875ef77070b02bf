"""Where a document's auxiliary files are kept, and how a build's files replace them."""

from __future__ import annotations

import os

from symderiv.render.latexcache import STALE_SECONDS, cache_dir, new_workdir, restore, store


def test_the_cache_is_keyed_by_the_documents_path(tmp_path):
    assert cache_dir(tmp_path / "out" / "lecture.tex") == tmp_path / "out" / ".symderiv-latex" / "lecture"
    assert cache_dir(tmp_path / "out" / "lecture-solutions.tex") != cache_dir(tmp_path / "out" / "lecture.tex")


def test_a_build_directory_becomes_the_cache_without_its_products(tmp_path):
    tex = tmp_path / "doc.tex"
    tex.write_text("x")
    work = new_workdir(tex)
    for name, text in {"doc.tex": "x", "doc.aux": "aux 1", "doc.nav": "nav", "doc.pdf": "pdf", "doc.log": "log",
                       "doc.fls": "fls", "symderiv-abc.fmt": "format"}.items():
        (work / name).write_text(text)
    store(tex, work)
    assert not work.exists()
    assert sorted(p.name for p in cache_dir(tex).iterdir()) == ["doc.aux", "doc.nav"]

    again = new_workdir(tex)
    assert restore(tex, again) and (again / "doc.aux").read_text() == "aux 1"
    (again / "doc.aux").write_text("aux 2")
    store(tex, again)
    assert (cache_dir(tex) / "doc.aux").read_text() == "aux 2"
    assert sorted(p.name for p in (tmp_path / ".symderiv-latex").iterdir()) == ["doc"]   # nothing left over


def test_no_cache_no_restore(tmp_path):
    tex = tmp_path / "doc.tex"
    assert restore(tex, new_workdir(tex)) is False


def test_build_directories_of_killed_builds_are_removed(tmp_path):
    tex = tmp_path / "doc.tex"
    old, recent = new_workdir(tex), new_workdir(tex)
    long_ago = os.stat(old).st_mtime - STALE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    new_workdir(tex)
    assert not old.exists() and recent.exists()
