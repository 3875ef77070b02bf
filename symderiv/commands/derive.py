"""``symderiv derive NAME|SPEC.toml [--json]``: derive, verify, and print the derivation."""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("example", metavar="NAME|SPEC.toml", help="a built-in example name or a spec file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--digits", type=int, default=6, help="significant digits in the text output (default 6)")
    parser.add_argument("--no-fd", action="store_true", help="skip the finite-difference check (NumPy check stays)")


def run(args) -> int:
    from symderiv.api import derive
    from symderiv.lints import lint_derivation
    from symderiv.verify import verify

    derivation = derive(args.example)
    verification = verify(derivation, finite_differences=not args.no_fd)
    verification.raise_if_failed()
    lints = lint_derivation(derivation)
    if args.json:
        from symderiv.jsonout import dumps
        sys.stdout.write(dumps(derivation, verification, lints) + "\n")
    else:
        from symderiv.textout import render_text
        print(render_text(derivation, digits=args.digits, lints=lints))
        summary = verification.summary()
        print(f"\nverified: {summary['numpy']['quantities']} quantities against NumPy "
              f"(largest relative difference {summary['numpy']['max_rel_diff']:.1e}), "
              f"{summary['finite_differences']['elements_probed']} gradient elements against finite differences")
    return 0
