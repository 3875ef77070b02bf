"""Golden .tex fragments: a few derivation steps exactly as the solution document prints them.

Each fragment in tests/golden/ was read and checked by hand against the example (symbols, the
chain rule, the substituted values, "=" versus "≈"); a change in the output shows up here as a
diff to review. Regenerate after an intended change with SYMDERIV_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from symderiv.api import derive
from symderiv.render import Options, render
from symderiv.render.viewmodel import safe_label
from symderiv.verify import verify

GOLDEN = Path(__file__).parent / "golden"
FRAGMENTS = {
    "rnn-timeseries": ["a_2", "dh_3/da_3", "dL/dW_hh", "W_xh'"],
    "rnn-text": ["yhat_3", "L", "dL/dW_xh(t=3)", "dL/dh_2"],
    "cnn-image": ["size(h)", "h:cells", "h'':windows", "dL/dk(h[i,j])"],
}


@pytest.fixture(scope="module")
def documents():
    out = {}
    for name in FRAGMENTS:
        d = derive(name)
        out[name] = render(name, [(d, verify(d, finite_differences=False), [])],
                           Options(slides=False, solutions=True))["solutions"]
    return out


def fragment(tex: str, example: str, step: str) -> str:
    label = safe_label(f"{example}:{step}")
    match = re.search(r"\\begin\{equation\}\n(?:(?!\\end\{equation\}).)*?\\label\{eq:" + re.escape(label)
                      + r"\}\n\\end\{equation\}\n", tex, re.S)
    assert match, f"no equation labelled {label}"
    return match.group(0)


@pytest.mark.parametrize("example,step", [(e, s) for e, steps in FRAGMENTS.items() for s in steps])
def test_fragment_matches_golden(documents, example, step):
    text = fragment(documents[example], example, step)
    path = GOLDEN / f"{safe_label(example + ':' + step)}.tex"
    if os.environ.get("SYMDERIV_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# -- captions and order, as the slides show them ----------------------------------------------------------
from conftest import CASES                                       # noqa: E402
from symderiv.lints import lint_derivation                       # noqa: E402
from symderiv.render.documents import deck_example               # noqa: E402
from symderiv.render.viewmodel import example_view               # noqa: E402

#: Specs whose slides once had wrong captions or orders: each frame's title and the captions on it.
OUTLINES = {
    "rnn-many-to-many": CASES / "rnn-many-to-many.toml",
    "cnn-two-channels-avg-pool": CASES / "cnn-two-channels-avg-pool.toml",
    "mlp-dropout": CASES / "lecturer" / "mlp-dropout.toml",
}


def outline(spec) -> str:
    """One line per frame (its title), then one indented line per item (its caption)."""
    d = derive(str(spec))
    view = example_view(d, verify(d, finite_differences=False), lint_derivation(d))
    lines = []
    for frame in deck_example(view).frames:
        lines.append(frame.title)
        for item in frame.items:
            caption = getattr(item, "caption", "") or getattr(getattr(item, "note", None), "title", "")
            lines.append(f"    {item.type}: {caption}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", sorted(OUTLINES))
def test_frame_titles_and_captions_match_golden(name):
    text = outline(OUTLINES[name])
    path = GOLDEN / "outlines" / f"{name}.txt"
    if os.environ.get("SYMDERIV_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
