"""Where the jobs run: the same variants from one process, a process pool and a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed import LocalCluster

from symderiv.errors import UsageError
from symderiv.variants.jobs import InlineExecutor, runner
from symderiv.variants.run import Request, run_variants


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".symderiv-latex" not in p.parts}


def make(out: Path, **options) -> dict[str, bytes]:
    run_variants(Request("cnn-image", 3, 2, out, moodle=out / "quiz.xml", **options), say=lambda line: None)
    return files(out)


def test_a_dask_cluster_makes_the_same_variants_as_one_process(tmp_path):
    alone = make(tmp_path / "alone", jobs=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = make(tmp_path / "dask", jobs=1, scheduler=cluster.scheduler_address)
    assert on_dask == alone
    assert len([name for name in alone if name.endswith("spec.toml")]) == 3


def test_a_process_pool_makes_the_same_variants_as_one_process(tmp_path):
    assert make(tmp_path / "pool", jobs=2) == make(tmp_path / "alone", jobs=1)


def test_one_job_runs_in_this_process():
    run = runner(1)
    assert isinstance(run.executor, InlineExecutor)
    assert run.executor.submit(divmod, 7, 2).result() == (3, 1)
    with pytest.raises(ZeroDivisionError):
        run.executor.submit(divmod, 1, 0).result()


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    monkeypatch.setattr("symderiv.variants.jobs.CONNECT_TIMEOUT", "1s")
    with pytest.raises(UsageError, match=r"^--scheduler: cannot reach a Dask scheduler at 'tcp://127\.0\.0\.1:1'"):
        runner(2, "tcp://127.0.0.1:1")


def test_a_progress_bar_on_a_terminal_only(tmp_path):
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios
    import threading

    from conftest import ROOT

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    shown = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:            # the terminal closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    proc = subprocess.run([sys.executable, "-m", "symderiv", "variants", "rnn-text", "--count", "3", "--jobs", "1",
                           "--out", str(tmp_path / "tty")], stdout=subprocess.PIPE, stderr=follower,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    os.close(follower)
    reader.join(10)
    os.close(leader)
    text = b"".join(shown).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "sampling:" in text and "building:" in text and "/3 [" in text
    assert b"wrote 3 variants" in proc.stdout
