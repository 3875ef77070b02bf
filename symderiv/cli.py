"""The ``symderiv`` command line: parse arguments, run one subcommand, turn user errors into one line.

Each subcommand lives in ``symderiv/commands/<name>.py`` with ``add_arguments(parser)`` and
``run(args) -> int``; the registry at the bottom lists them, and a command's module is imported
only when that command runs (cold start matters for a CLI).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from symderiv.errors import SymderivError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symderiv",
                                     description="Exact, verified, step-by-step derivations of neural-network examples.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(p)
    return parser


def _version() -> str:
    from symderiv import __version__
    return f"symderiv {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return importlib.import_module(args._module).run(args)
    except SymderivError as err:
        print(f"symderiv: error: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


# name -> (module, one-line help)
COMMANDS = {
    "list": ("symderiv.commands.list", "list the built-in examples, one a line, name first"),
    "derive": ("symderiv.commands.derive", "derive and verify an example; print it, or JSON with --json"),
    "build": ("symderiv.commands.build", "write Beamer slides and exam documents (.tex, and PDF with --pdf)"),
    "check": ("symderiv.commands.check", "check hand-written numbers (a claims file) against the derivation"),
    "variants": ("symderiv.commands.variants",
                 "one seeded exam variant per student: specs, questions, solutions, answer keys, Moodle XML"),
}

if __name__ == "__main__":
    sys.exit(main())
