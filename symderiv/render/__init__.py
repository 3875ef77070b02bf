"""The render stage: a derivation (+ verification + lints) to LaTeX slides and exam documents, and PDFs.

Modules, in the order the data flows: ``latexnum`` (numbers and matrices as LaTeX, on top of
``symderiv.display``), ``substitute`` (formula and substituted lines of a step), ``viewmodel``
(everything a document shows, as plain data), ``figures*`` (TikZ from the example's numbers),
``layout`` (frames), ``env`` (the Jinja environment), ``documents`` (the .tex texts), ``compile``
(atomic files, and PDFs side by side) with ``latexrun`` (pdflatex passes until the auxiliary files
settle), ``latexcache`` (those files kept between builds), ``beamer_aux`` (their prediction for a
deck's first build) and ``latexformat`` (the precompiled preamble). ``escape`` keeps user text
literal throughout.
"""

from symderiv.render.documents import Options, render

__all__ = ["Options", "render"]
