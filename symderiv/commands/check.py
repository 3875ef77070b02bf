"""``symderiv check [NAME|SPEC] CLAIMS.toml``: check hand-written numbers against the derivation.

Prints one line a claim (ok, rounding, inexact, wrong: root or inherited) and the teaching lints;
exit status 0 when no claim is wrong (with ``--strict``: none is inexact either), 1 otherwise, 2 for
bad input, 3 when the derivation itself fails verification.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

FORMAT_NAMES = ("text", "md", "tex", "json")


def add_arguments(parser) -> None:
    parser.usage = ("symderiv check [-h] [--format {text,md,tex,json}] [-o FILE] [--no-fd] [--strict] "
                    "[NAME|SPEC] CLAIMS.toml")
    parser.add_argument("files", nargs="+", metavar="[NAME|SPEC] CLAIMS.toml",
                        help="the example (a built-in name or a spec file; by default the one the claims file "
                             "names) and the claims file")
    parser.add_argument("--format", choices=FORMAT_NAMES, default="text",
                        help="text (default), md (a Markdown table), tex (an errata frame for a Beamer deck), json")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of printing it")
    parser.add_argument("--no-fd", action="store_true", help="skip the finite-difference check (NumPy check stays)")
    parser.add_argument("--strict", action="store_true",
                        help="an inexact claim ('=' before a value that is only rounded) fails too (exit status 1)")


def run(args) -> int:
    from symderiv.api import derive
    from symderiv.checker.claims import bind, read_claims
    from symderiv.checker.formats import FORMATS
    from symderiv.checker.report import check
    from symderiv.errors import SpecError, UsageError
    from symderiv.lints import lint_derivation
    from symderiv.verify import verify

    if len(args.files) > 2:
        raise UsageError(f"check takes [NAME|SPEC] CLAIMS.toml, found {len(args.files)} arguments")
    example, claims_path = (None, args.files[0]) if len(args.files) == 1 else args.files
    claims = read_claims(claims_path)
    reference = example or claims.reference
    if reference is None:
        raise SpecError("example", "the example the claims are about: example = \"NAME\" or spec = \"FILE\" "
                        "(or give it on the command line)", "nothing (the field is missing)", claims.path)
    note = ""
    if example and claims.reference and not _same_reference(example, claims.reference):
        note = f"checked against {example}, not {claims.reference} (the example the claims file names)"
    derivation = derive(reference)
    bind(claims, derivation)            # bad names, indices or shapes: fail before the slower verification
    verification = verify(derivation, finite_differences=not args.no_fd)
    verification.raise_if_failed()
    report = check(claims, derivation, lint_derivation(derivation), note, strict=args.strict)
    if args.format == "tex":            # the errata frame prints text of the claims file: warn of missing glyphs
        from symderiv.checker.formats import tex_printed_text
        from symderiv.errors import warn
        from symderiv.render.escape import missing_glyphs
        for line in missing_glyphs(tex_printed_text(report), claims.path):
            warn(line)
    text = FORMATS[args.format](report)
    if args.output:
        _write(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return report.exit_status


def _same_reference(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = Path(a), Path(b)
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def _write(path: Path, text: str) -> None:
    """Write the whole report or nothing: a temporary file beside the target, renamed into place."""
    from symderiv.errors import UsageError

    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write '{path}': the folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
