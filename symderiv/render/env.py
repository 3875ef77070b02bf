r"""The one place Jinja2 is configured: LaTeX-safe delimiters, strict undefined, escaping by default.

Templates write ``\VAR{x}`` for a value, ``\BLOCK{for ...}`` for a statement and ``\#{...}`` for a
comment, so LaTeX's own braces and ``{%`` never collide with Jinja. A value that is not a
:class:`~symderiv.render.escape.Tex` is escaped on output (``finalize``), so user text is literal
even where a template forgets the filter; an undefined name is an error, never an empty string.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from symderiv.render.escape import Tex, escape_tex, escape_texttt

#: The built-in templates are package data (``symderiv/templates/``), found through the installed
#: package, so a non-editable ``pip install`` finds them as well as a source checkout does.
TEMPLATE_PACKAGE = ("symderiv", "templates")


def _finalize(value):
    """Every printed value: LaTeX (``Tex``, or a macro's output) as it is, any other text escaped.

    Jinja's autoescape machinery is used with LaTeX escaping instead of HTML's: a value leaving
    here is ``Markup``, which Jinja then prints unchanged.
    """
    if isinstance(value, Markup):          # the output of a template macro: already rendered
        return value
    if isinstance(value, jinja2.Undefined):
        return str(value)                  # StrictUndefined: raises, naming the missing variable
    if isinstance(value, Tex):
        return Markup(value)
    if isinstance(value, bool) or value is None:
        raise TypeError(f"a template printed {value!r}; print text or numbers only")
    if isinstance(value, int):
        return Markup(str(value))
    if isinstance(value, str):
        return Markup(escape_tex(value))
    raise TypeError(f"a template printed a {type(value).__name__}; print text or numbers only")


def tex(text) -> Tex:
    """Escape user text explicitly: ``\\VAR{title|tex}`` (the same as printing it plainly)."""
    return escape_tex(text)


def texttt(text) -> Tex:
    """Escaped text with break points after underscores, for a typewriter font."""
    return escape_texttt(text)


def environment(template_dir: Path | str | None = None) -> jinja2.Environment:
    """The Jinja environment; ``template_dir`` (``--templates``) is searched before the defaults.

    The search is file by file: a directory holding only ``deck.tex.j2`` replaces the deck and
    keeps the built-in ``common/`` macros and solution document.
    """
    loaders = [jinja2.FileSystemLoader(str(template_dir))] if template_dir is not None else []
    loaders.append(jinja2.PackageLoader(*TEMPLATE_PACKAGE))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix=None,
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=True,                 # with LaTeX escaping, see _finalize
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.filters.update(FILTERS)
    return env


# name -> filter
FILTERS = {
    "tex": tex,
    "texttt": texttt,
}
