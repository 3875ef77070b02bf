"""``symderiv build NAME|SPEC... [--slides] [--solutions] [--questions] [--pdf] ...``: write the documents.

Each argument gives one set of documents named after it (with ``--name``, all of them one set): ``output/NAME.tex`` (the Beamer deck),
``output/NAME-solutions.tex`` and, with ``--questions``, ``output/NAME-questions.tex``; ``--pdf``
compiles them. ``lecture`` stands for the three lecture examples in one deck. Every example is
derived, verified and rendered before the first file is written, so bad input leaves the output
directory as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Argument -> the built-in examples it stands for, and the documents' title.
GROUPS = {
    "lecture": (("rnn-timeseries", "rnn-text", "cnn-image"),
                "Backpropagation by hand: recurrent and convolutional networks"),
}
SUFFIX = {"deck": "", "solutions": "-solutions", "questions": "-questions"}
DETAILS = ("full", "compact")


def add_arguments(parser) -> None:
    parser.add_argument("examples", nargs="+", metavar="NAME|SPEC",
                        help="a built-in example, a spec file, or 'lecture' (rnn-timeseries, rnn-text, cnn-image)")
    parser.add_argument("--slides", action="store_true", help="write the Beamer deck")
    parser.add_argument("--solutions", action="store_true", help="write the solution document")
    parser.add_argument("--questions", action="store_true", help="write the question-only document")
    parser.add_argument("--reveal", action="store_true", help="uncover each derivation line by line on the slides")
    parser.add_argument("--pdf", action="store_true",
                        help="compile the .tex files with pdflatex, side by side (one process per document and core)")
    parser.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output)")
    parser.add_argument("--templates", default=None, metavar="DIR",
                        help="a directory of templates searched before the built-in ones")
    parser.add_argument("--digits", type=int, default=None, metavar="N",
                        help="significant digits of rounded values (default 4, 2 to 12)")
    parser.add_argument("--detail", choices=DETAILS, default="full",
                        help="full: every step of every time step, example and descent step (default); compact: one "
                             "of each worked in full, the others in tables of values, the verification appendix "
                             "only in the solutions")
    parser.add_argument("--name", default=None, metavar="NAME",
                        help="put every example given into one set of documents, NAME.tex and NAME-solutions.tex")
    parser.add_argument("--title", default=None, metavar="TEXT",
                        help="the documents' title (default: the group's or the example's own)")
    parser.add_argument("--theme", default=None, metavar="THEME",
                        help="a Beamer theme for the slides (Madrid, Warsaw, ...; default: symderiv's plain look)")


def _file_stem(reference: str) -> str:
    """A safe file name for the documents of one argument."""
    stem = Path(reference).stem if reference.endswith(".toml") or "/" in reference else reference
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-") or "example"


def _title(titles: list[str], name: str | None) -> str:
    """The documents' title: the one example's (or group's), else the name given with --name."""
    distinct = list(dict.fromkeys(titles))
    if len(distinct) == 1:
        return distinct[0]
    return name or distinct[0]


def run(args) -> int:
    from symderiv.api import derive
    from symderiv.render import themes
    from symderiv.render.exam import check_exam, given_away
    from symderiv.display import DEFAULT_DIGITS
    from symderiv.errors import UsageError, warn
    from symderiv.lints import lint_derivation
    from symderiv.render import Options, render
    from symderiv.render.compile import LatexError, compile_pdfs, write_atomic
    from symderiv.render.escape import missing_glyphs
    from symderiv.spec.load import builtin_names, printed_text
    from symderiv.verify import verify

    digits = DEFAULT_DIGITS if args.digits is None else args.digits
    if not 2 <= digits <= 12:
        raise UsageError(f"--digits: expected a whole number from 2 to 12, found {digits}")
    templates = Path(args.templates) if args.templates else None
    if templates is not None and not templates.is_dir():
        raise UsageError(f"--templates: expected a directory of templates, found no directory '{templates}'")
    theme = args.theme or ""
    if theme and theme not in themes.names():
        raise UsageError(f"--theme: expected one of the Beamer themes {', '.join(themes.names())}, found '{theme}'")
    if args.name is not None and _file_stem(args.name) != args.name:
        raise UsageError(f"--name: expected a file name of letters, digits, '.', '_' and '-', found '{args.name}'")
    chosen = args.slides or args.solutions or args.questions
    options = Options(slides=args.slides or not chosen, solutions=args.solutions or not chosen,
                      questions=args.questions, reveal=args.reveal, digits=digits, templates=templates,
                      detail=args.detail, theme=theme)

    # each argument is one set of documents, or (--name) all of them are one
    sets = [(args.name, list(args.examples))] if args.name is not None else [(None, [r]) for r in args.examples]
    documents: list[tuple[Path, str]] = []
    out_dir = Path(args.out)
    for stem, references in sets:
        examples, titles = [], []
        for reference in references:
            names, title = GROUPS.get(reference, ((reference,), None))
            for name in names:
                derivation = derive(name)
                verification = verify(derivation)
                verification.raise_if_failed()
                examples.append((derivation, verification, lint_derivation(derivation)))
                source = f"example {name}" if name in builtin_names() else name
                for line in missing_glyphs(printed_text(derivation.model), source):
                    warn(line)
                check_exam(derivation, None if name in builtin_names() else name)
                if options.questions:
                    for line in given_away(derivation, source):
                        warn(line)
                titles.append(title or derivation.example.get("title") or derivation.example["name"])
        title = args.title or _title(titles, stem)
        stem = stem or _file_stem(references[0])
        for key, text in render(title, examples, options).items():
            documents.append((out_dir / f"{stem}{SUFFIX[key]}.tex", text))

    for path, text in documents:
        write_atomic(path, text)
        print(f"wrote {path}")
    if args.pdf:
        results = compile_pdfs([path for path, _ in documents])
        for result in results:
            if result.error is None:
                print(result.summary())
        failed = [str(result.error) for result in results if result.error is not None]
        if failed:
            raise LatexError("\n".join(failed))
    return 0
