"""The package as a user installs it: ``pip install .`` (not editable), then ``symderiv build``.

An editable install (what ``make test`` uses) reads templates and examples from the source tree,
so it cannot show that they are package data. This test installs a copy of the package into a new
virtual environment and builds PDFs from a directory that holds nothing of the project.

It must not reach the network: the virtual environment sees the packages of the Python running the
tests (``--system-site-packages``: sympy, numpy, jinja2, ... are already installed there), pip is
told ``--no-deps --no-index`` so it fetches nothing, and ``--no-build-isolation`` so it builds with
the setuptools and wheel of that Python instead of downloading fresh ones into a build environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

#: What ``pip install .`` reads: the package and the metadata (pyproject.toml names README.md).
SOURCES = ("pyproject.toml", "README.md", "symderiv")


def _copy_sources(dest):
    dest.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)


@pytest.mark.slow
@pytest.mark.latex
def test_installed_package_builds_pdf_documents(tmp_path):
    source = tmp_path / "source"
    _copy_sources(source)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
                   check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    pip = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                          "--no-build-isolation", str(source)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert pip.returncode == 0, pip.stdout + pip.stderr

    work = tmp_path / "elsewhere"          # nothing of the project here: no templates/, no examples
    work.mkdir()
    where = subprocess.run([str(python), "-c", "import symderiv.render.env as m; print(m.__file__)"],
                           capture_output=True, text=True, env=env, cwd=work, check=True)
    assert where.stdout.strip().startswith(str(venv)), where.stdout   # the installed copy, not the checkout

    proc = subprocess.run([str(venv / "bin" / "symderiv"), "build", "rnn-text", "--pdf", "--out", "out"],
                          capture_output=True, text=True, env=env, cwd=work, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    for name in ("rnn-text.pdf", "rnn-text-solutions.pdf"):
        assert (work / "out" / name).read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(work / "out" / "rnn-text.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Predicting the next word" in text
