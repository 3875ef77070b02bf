"""Real PDFs: the lecture compiles cleanly, fits its pages, and prints the right numbers.

The lecture is compiled once per session (module fixture); every expected number is computed here
from the examples' definitions (mpmath for the RNNs, float64 NumPy for the CNN), never taken from
the output or from the lecture notes.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import mpmath
import numpy as np
import pytest

from conftest import ROOT, run_cli
from symderiv.render.compile import error_lines, overfull_boxes

pytestmark = pytest.mark.latex
mpmath.mp.dps = 40


def _sig(x, digits: int = 4) -> str:
    """How the documents print a rounded value: 4 significant digits, m · 10^e below 1e-3."""
    x = float(x)
    if abs(x) < 1e-3:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        return f"{mantissa} · 10-{int(exponent[1:])}" if exponent.startswith("-") else f"{mantissa} · 10{int(exponent)}"
    return f"{x:#.{digits}g}"


def _text(pdf) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", " ", out.replace("−", "-"))


@pytest.fixture(scope="module")
def lecture_build(tmp_path_factory):
    if shutil.which("pdflatex") is None:
        pytest.fail("TeX Live is missing: run `make setup` (make test installs it)")
    out = tmp_path_factory.mktemp("lecture")
    proc = run_cli("build", "lecture", "--pdf", "--out", out, cwd=out)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


@pytest.fixture(scope="module")
def lecture(lecture_build):
    return lecture_build[0]


def test_first_build_compiles_the_deck_in_one_pass(lecture_build):
    out, stdout = lecture_build
    # The deck's auxiliary files were predicted; the solutions' labels and longtable widths need a second pass.
    assert f"wrote {out / 'lecture.pdf'} (1 pdflatex pass)" in stdout
    assert f"wrote {out / 'lecture-solutions.pdf'} (2 pdflatex passes)" in stdout


def test_footer_counts_every_frame(lecture):
    frames = len(re.findall(r"\\begin\{frame\}", (lecture / "lecture.tex").read_text()))
    pages = subprocess.run(["pdftotext", str(lecture / "lecture.pdf"), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")[:-1]
    assert len(pages) == frames > 80
    for number, page in enumerate(pages, start=1):
        assert re.search(rf"\b{number} / {frames}\b", page), number
    contents = pages[1]
    assert "Contents" in contents and "Forecasting a temperature" in contents and "Classifying a 5 × 5 image" in contents


def test_rebuild_is_one_pass_per_document_and_the_same_bytes(lecture_build):
    out, _ = lecture_build
    before = {name: (out / name).read_bytes() for name in ("lecture.pdf", "lecture-solutions.pdf")}
    proc = run_cli("build", "lecture", "--pdf", "--out", out, cwd=out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out / 'lecture.pdf'} (1 pdflatex pass)" in proc.stdout
    assert f"wrote {out / 'lecture-solutions.pdf'} (1 pdflatex pass)" in proc.stdout
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("name", ["lecture", "lecture-solutions"])
def test_compiles_without_error_or_overflow(lecture, name):
    log = (lecture / f"{name}.log").read_text(encoding="latin-1")
    assert (lecture / f"{name}.pdf").stat().st_size > 10_000
    assert error_lines(log) == []
    assert overfull_boxes(log) == []
    assert "Overfull \\vbox" not in log          # a frame whose content runs off the slide


def test_deck_holds_every_example_and_the_appendix(lecture):
    text = _text(lecture / "lecture.pdf")
    for phrase in ("Forecasting a temperature", "Predicting the next word", "Classifying a 5 × 5 image",
                   "Verification", "Vanishing gradient", "The backward pass at a glance"):
        assert phrase in text, phrase


def test_no_rounded_value_is_printed_as_zero(lecture):
    for name in ("lecture", "lecture-solutions"):
        text = _text(lecture / f"{name}.pdf")
        # "≈ 0" may only start a matrix row ("≈ [0 0 −0.1389 0]") or a sum ("≈ 0 + 9.908 · 10−17")
        assert re.search(r"≈ -?0(?![.\d]| ?[+·\-\d])", text) is None


def _rnn_timeseries():
    x = [mpmath.mpf(15), mpmath.mpf(16), mpmath.mpf("15.5")]
    wx, wh, wz = mpmath.mpf("0.6"), mpmath.mpf("0.4"), mpmath.mpf(1)
    h, a = [mpmath.mpf(0)], []
    for t in range(3):
        a.append(wx * x[t] + wh * h[-1])
        h.append(mpmath.tanh(a[-1]))
    yhat = 15 + (wz * h[3]) * (16 - 15)
    dz = 2 * (yhat - 15) * (16 - 15)
    dh, gx, gh = wz * dz, mpmath.mpf(0), mpmath.mpf(0)
    locals_ = []
    for t in (2, 1, 0):
        local = mpmath.sech(a[t]) ** 2
        locals_.append(local)
        da = dh * local
        gx += da * x[t]
        gh += da * h[t]
        dh = wh * da
    return {"local3": locals_[0], "dW_xh": gx, "dW_hh": gh, "W_xh'": wx - mpmath.mpf("0.1") * gx,
            "W_hz'": wz - mpmath.mpf("0.1") * dz * h[3]}


def _rnn_text():
    wx = [mpmath.mpf(v) for v in ("0.5", "-0.4", "0.3", "0.1")]
    wh = mpmath.mpf("0.2")
    wz = [mpmath.mpf(v) for v in ("0.1", "0.2", "0.3", "0.4")]
    h, a = [mpmath.mpf(0)], []
    for t in range(3):                       # one-hot tokens 0, 1, 2
        a.append(wx[t] + wh * h[-1])
        h.append(mpmath.tanh(a[-1]))
    z = [w * h[3] for w in wz]
    e = [mpmath.exp(v) for v in z]
    p = [v / sum(e) for v in e]
    dz = [p[k] - (1 if k == 3 else 0) for k in range(4)]
    dh = sum(w * g for w, g in zip(wz, dz))
    gh = mpmath.mpf(0)
    for t in (2, 1, 0):
        da = dh * mpmath.sech(a[t]) ** 2
        gh += da * h[t]
        dh = wh * da
    return {"L": -mpmath.log(p[3]), "yhat4": p[3], "dW_hh": gh}


def _cnn_image():
    x = np.array([[1, 0, 2, 3, 0], [4, 6, 6, 8, 1], [3, 1, 1, 0, 2], [1, 2, 2, 4, 1], [2, 4, 0, 1, 3]], float)
    k = np.array([[1, 0, -1]] * 3, float)
    W = np.array([[0.2, 0.4, 0.1, -0.5], [-0.3, 0.6, 0.2, 0.1]])
    b = np.array([0.1, -0.2])
    y = np.array([0.0, 1.0])
    h = np.array([[np.sum(x[i:i + 3, j:j + 3] * k) for j in range(3)] for i in range(3)])
    r = np.maximum(h, 0)
    pooled, arg = np.zeros((2, 2)), {}
    for i in range(2):
        for j in range(2):
            window = r[i:i + 2, j:j + 2]
            u, v = np.unravel_index(np.argmax(window), window.shape)   # first maximum, row-major
            pooled[i, j], arg[(i, j)] = window[u, v], (i + u, j + v)
    f = pooled.reshape(-1)
    z = W @ f + b
    p = np.exp(z) / np.sum(np.exp(z))
    dz = p - y
    dpool = (W.T @ dz).reshape(2, 2)
    dr = np.zeros((3, 3))
    for cell, target in arg.items():
        dr[target] += dpool[cell]
    dh = dr * (h > 0)
    dk = sum(dh[i, j] * x[i:i + 3, j:j + 3] for i in range(3) for j in range(3))
    return {"L": -np.log(p[1]), "dk": dk, "dW": np.outer(dz, f), "k'": k - 0.1 * dk}


def test_rnn_numbers_in_the_deck(lecture):
    text = _text(lecture / "lecture.pdf")
    ts, tx = _rnn_timeseries(), _rnn_text()
    assert _sig(ts["local3"]) in text                       # 1 − tanh²(a_3), a tiny but non-zero slope
    assert _sig(ts["dW_xh"]) in text and _sig(ts["dW_hh"]) in text
    assert mpmath.nstr(ts["W_xh'"], 8) in text              # the update shown to the digit that changes
    assert _sig(tx["L"]) in text and _sig(tx["yhat4"]) in text and _sig(tx["dW_hh"]) in text


def test_cnn_numbers_in_the_deck_and_solutions(lecture):
    expected = _cnn_image()
    for name in ("lecture", "lecture-solutions"):
        text = _text(lecture / f"{name}.pdf")
        assert _sig(expected["L"]) in text
        for value in np.concatenate([expected["dk"].reshape(-1), expected["dW"].reshape(-1)]):
            if value != 0:
                assert _sig(value) in text, (name, value)


def test_solutions_number_every_equation(lecture):
    tex = (lecture / "lecture-solutions.tex").read_text()
    text = _text(lecture / "lecture-solutions.pdf")
    assert tex.count(r"\begin{equation}") >= 100
    assert re.search(r"\(3\.\d+\)", text)                   # equation numbers of the third example


def test_no_solutions_page_ends_with_a_heading(lecture):
    # a heading at the foot of a page, its first step on the next, is what a break between them leaves
    tex = (lecture / "lecture-solutions.tex").read_text()
    headings = set(re.findall(r"\\(?:sub)*section\*?\{([^{}]*)\}", tex))
    assert {"Gradients of the parameters", "Gradient-descent update"} <= headings
    pages = subprocess.run(["pdftotext", "-layout", str(lecture / "lecture-solutions.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout.split("\f")[:-1]
    for number, page in enumerate(pages, start=1):
        last = [line.strip() for line in page.splitlines() if re.search(r"[A-Za-z]", line)][-1]
        assert last not in headings, (number, last)


@pytest.fixture(scope="module")
def tall_solutions(tmp_path_factory):
    """Solutions whose kernel gradient, term by term, is several pages tall, compiled side by side."""
    from symderiv.api import derive
    from symderiv.lints import lint_derivation
    from symderiv.render import Options, render
    from symderiv.render.compile import compile_pdfs, write_atomic
    from symderiv.verify import verify

    out = tmp_path_factory.mktemp("solutions")
    paths = []
    for spec in ("cnn-two-conv", str(CASES / "cnn-two-channels-avg-pool.toml")):
        d = derive(spec)
        tex = render(d.example["title"], [(d, verify(d, finite_differences=False), lint_derivation(d))],
                     Options(slides=False))["solutions"]
        paths.append(out / f"{d.example['name']}-solutions.tex")
        write_atomic(paths[-1], tex)
    assert [r.error for r in compile_pdfs(paths) if r.error is not None] == []
    return paths


def test_solutions_equations_taller_than_a_page_are_continued_not_cut(tall_solutions):
    for path in tall_solutions:
        log = path.with_suffix(".log").read_text(encoding="latin-1")
        assert _vboxes(log) == [], path.name           # an equation running off the foot of its page
        assert "one term per output cell (continued)" in path.read_text()


NASTY = r"""
[example]
name = "nasty"
kind = "rnn"
title = 'Nasty_title 100% & $5 #1 {braces} \ ^caret ~tilde \input{/etc/passwd}'
description = 'A \write18{touch pwned} test: 50% & $x$ #2 {b} \textbf{not bold}'

[network]
hidden_size = 1
output_activation = "softmax"
loss = "cross_entropy"

[input]
vocabulary = ['a_b', '50%', '$x$', '\input{/etc/passwd}']
tokens = ['a_b', '50%', '$x$']

[target]
token = '\input{/etc/passwd}'

[parameters]
W_xh = [[0.5, -0.4, 0.3, 0.1]]
W_hh = [[0.2]]
W_hz = [[0.1], [0.2], [0.3], [0.4]]

[training]
learning_rate = 0.1
"""


def test_user_text_prints_literally_and_runs_nothing(tmp_path):
    spec = tmp_path / "nasty.toml"
    spec.write_text(NASTY)
    proc = run_cli("build", spec, "--slides", "--reveal", "--pdf", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = _text(tmp_path / "out" / "nasty.pdf")
    assert r"Nasty_title 100% & $5 #1 {braces} \ ^caret ~tilde \input{/etc/passwd}" in text
    assert r"\write18{touch pwned}" in text and r"\textbf{not bold}" in text
    assert "“a_b”" in text or '"a_b"' in text or "a_b" in text
    assert "root:" not in text and not (tmp_path / "out" / "pwned").exists() and not (tmp_path / "pwned").exists()
    log = (tmp_path / "out" / "nasty.log").read_text(encoding="latin-1")
    assert error_lines(log) == [] and overfull_boxes(log) == []


def test_latex_failure_is_reported_and_keeps_the_earlier_pdf(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    deck = (ROOT / "symderiv" / "templates" / "deck.tex.j2").read_text()
    (templates / "deck.tex.j2").write_text(deck.replace(r"\begin{document}", r"\begin{document}\nosuchcommandhere", 1))
    out = tmp_path / "out"
    out.mkdir()
    (out / "rnn-text.pdf").write_bytes(b"%PDF earlier good copy")
    proc = run_cli("build", "rnn-text", "--slides", "--pdf", "--templates", templates, "--out", out)
    assert proc.returncode == 2
    assert "Undefined control sequence" in proc.stderr and "Traceback" not in proc.stderr
    assert (out / "rnn-text.pdf").read_bytes() == b"%PDF earlier good copy"
    assert (out / "rnn-text.tex").exists() and (out / "rnn-text.log").exists()


# -- page economy: decks of every size ------------------------------------------------------------------
from pagefill import measure, short_share      # noqa: E402  (tests/pagefill.py, the measuring tool)

from conftest import CASES                      # noqa: E402


def _vboxes(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("Overfull \\vbox")]


def test_lecture_pages_are_full_and_nothing_runs_into_the_footer(lecture):
    fills = measure(lecture / "lecture.pdf")
    assert short_share(fills) <= 0.05, [f.number for f in fills if f.short and not f.exempt]
    assert not any(f.footer_intrusion for f in fills)
    log = (lecture / "lecture.log").read_text(encoding="latin-1")
    assert "shrunk" not in log                   # nothing set smaller than one size below the body


def test_compact_lecture_is_at_most_forty_slides(tmp_path):
    proc = run_cli("build", "lecture", "--detail", "compact", "--slides", "--pdf", "--out", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    fills = measure(tmp_path / "lecture.pdf")
    assert len(fills) <= 40 and short_share(fills) <= 0.05
    log = (tmp_path / "lecture.log").read_text(encoding="latin-1")
    assert overfull_boxes(log) == [] and _vboxes(log) == [] and "shrunk" not in log


DECKS = [CASES / "rnn-two-units.toml", CASES / "rnn-many-to-many.toml", CASES / "cnn-two-channels-avg-pool.toml",
         *sorted((CASES / "lecturer").glob("*.toml"))]
#: Compact decks of one spec per kind of table compact detail draws (time steps, channels, gates, a batch):
#: the others' compact decks are made of the same pieces, and compiling them would double the fixture's time.
COMPACT = {"rnn-many-to-many", "cnn-two-channels-avg-pool", "lstm-two-units", "mlp-batch-three"}
DECK_DETAILS = [(spec, "full") for spec in DECKS] + [(spec, "compact") for spec in DECKS if spec.stem in COMPACT]


@pytest.fixture(scope="module")
def decks(tmp_path_factory, request):
    """Every deck of DECKS in both details, compiled side by side."""
    from symderiv.api import derive
    from symderiv.lints import lint_derivation
    from symderiv.render import Options, render
    from symderiv.render.compile import compile_pdfs, write_atomic
    from symderiv.verify import verify

    out = tmp_path_factory.mktemp("decks")
    paths = []
    for spec in DECKS:
        d = derive(str(spec))
        for detail in [detail for s, detail in DECK_DETAILS if s == spec]:
            tex = render(d.example["title"], [(d, verify(d, finite_differences=False), lint_derivation(d))],
                         Options(solutions=False, detail=detail))["deck"]
            path = out / f"{spec.stem}-{detail}.tex"
            write_atomic(path, tex)
            paths.append(path)
    results = compile_pdfs(paths)
    assert [r.error for r in results if r.error is not None] == []
    return out


@pytest.mark.parametrize("spec,detail", DECK_DETAILS, ids=[f"{d}-{s.stem}" for s, d in DECK_DETAILS])
def test_decks_of_every_size_compile_cleanly_and_fill_their_pages(decks, spec, detail):
    log = (decks / f"{spec.stem}-{detail}.log").read_text(encoding="latin-1")
    assert overfull_boxes(log) == [] and _vboxes(log) == [] and "shrunk" not in log
    fills = measure(decks / f"{spec.stem}-{detail}.pdf")
    assert not any(f.footer_intrusion for f in fills)
    assert short_share(fills) <= 0.12, [f.number for f in fills if f.short and not f.exempt]


def test_a_stack_without_a_description_compiles_cleanly(tmp_path):
    """A GELU MLP as a user writes it, without title or description: GELU's derivative squares z^{(1)}
    (once a double superscript) and the facts table opens the frame (once indented 17 pt past its edge)."""
    spec = tmp_path / "gelu.toml"
    text = (ROOT / "symderiv" / "examples" / "mlp-sigmoid.toml").read_text()
    text = re.sub(r'(?m)^(title|description) = .*\n', "", text).replace('function = "sigmoid"', 'function = "gelu"', 1)
    spec.write_text(text)
    proc = run_cli("build", spec, "--slides", "--pdf", "--out", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "out" / "gelu.log").read_text(encoding="latin-1")
    assert error_lines(log) == [] and overfull_boxes(log) == []


def test_an_item_taller_than_the_frame_body_is_set_one_size_smaller(tmp_path):
    """The layout's estimate can fall short (a long note under tall matrices, a stacked LSTM's cell-state
    step: 63 mm estimated, 73 mm set); LaTeX then sets that item \\small instead of running into the footline."""
    from symderiv.render.compile import compile_pdfs
    run_cli("build", "rnn-text", "--slides", "--out", tmp_path, check=True)
    deck = tmp_path / "rnn-text.tex"
    lines = r"\par ".join(f"line {k} of an item the layout thought shorter" for k in range(16))
    frame = (r"\begin{frame}[t]{A tall item}\framesubtitle{estimated short}" "\n"
             r"\symitem{tall}{60}{" + lines + r"\par}" "\n" r"\end{frame}" "\n")
    deck.write_text(deck.read_text(encoding="utf-8").replace(r"\end{document}", frame + r"\end{document}"),
                    encoding="utf-8")
    assert [r.error for r in compile_pdfs([deck])] == [None]
    log = deck.with_suffix(".log").read_text(encoding="latin-1")
    assert "symderiv-item tall set small" in log
    assert _vboxes(log) == []
    text = subprocess.run(["pdftotext", str(deck.with_suffix(".pdf")), "-"], capture_output=True, text=True).stdout
    assert "line 15 of an item" in text
