"""The render stage: a derivation (+ verification + lints) to LaTeX slides and exam documents, and PDFs.

Modules, in the order the data flows: ``latexnum`` (numbers and matrices as LaTeX, on top of
``symderiv.display``), ``substitute`` (formula and substituted lines of a step), ``viewmodel``
(everything a document shows, as plain data), ``figures*`` (TikZ from the example's numbers),
``layout`` (frames), ``env`` (the Jinja environment), ``documents`` (the .tex texts), ``compile``
(atomic files, and PDFs side by side) with ``latexrun`` (pdflatex passes until the auxiliary files
settle), ``latexcache`` (those files kept between builds), ``beamer_aux`` (their prediction for a
deck's first build) and ``latexformat`` (the precompiled preamble). ``escape`` keeps user text
literal throughout, with ``glyphs`` for characters outside ASCII.

``Options`` and ``render`` are loaded on first use, so the spec stage can check notation with
``escape`` without importing Jinja2 and the rest of the renderer.
"""

__all__ = ["Options", "render"]


def __getattr__(name):
    if name in __all__:
        from symderiv.render import documents
        return getattr(documents, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
