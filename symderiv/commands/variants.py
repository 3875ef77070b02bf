"""``symderiv variants SPEC|NAME --count N --seed S [--jobs J] [--out DIR] [--pdf] [--moodle FILE]``.

One seeded variant per student of an exercise: ``DIR/<name>-v01/`` ... each with its full
``spec.toml``, ``questions.tex`` and ``solutions.tex`` (PDFs with ``--pdf``), the variant's number,
seed and QR code on every page; ``DIR/answers.csv`` and ``DIR/answers.json`` (one row per variant
and asked entry, with its tolerance); with ``--moodle FILE`` a Moodle XML quiz. The spec's
``[variants]`` table says what varies and what a variant must meet (README: "Exam variants").
"""

from __future__ import annotations

from pathlib import Path

MAX_COUNT = 9999


def add_arguments(parser) -> None:
    parser.add_argument("example", metavar="SPEC|NAME",
                        help="a built-in example or a spec file with a [variants] table")
    parser.add_argument("--count", type=int, required=True, metavar="N", help="how many variants (1 to 9999)")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="the seed (a whole number ≥ 0, default 1): the same seed gives the same variants")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help="worker processes (default: the number of cores; 1 runs everything in this process)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run the jobs on the Dask cluster at ADDRESS (tcp://host:8786) instead of a local pool")
    parser.add_argument("--out", default="output", metavar="DIR", help="output directory (default: output)")
    parser.add_argument("--pdf", action="store_true", help="compile the questions and solutions to PDF")
    parser.add_argument("--moodle", default=None, metavar="FILE", help="also write a Moodle XML quiz to FILE")
    parser.add_argument("--digits", type=int, default=None, metavar="N",
                        help="significant digits of rounded values in the documents (default 4, 2 to 12)")


def run(args) -> int:
    from symderiv.display import DEFAULT_DIGITS
    from symderiv.errors import UsageError
    from symderiv.render.compile import available_cores
    from symderiv.variants.run import Request, run_variants

    if not 1 <= args.count <= MAX_COUNT:
        raise UsageError(f"--count: expected a whole number from 1 to {MAX_COUNT}, found {args.count}")
    if args.seed < 0:
        raise UsageError(f"--seed: expected a whole number ≥ 0, found {args.seed}")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs: expected a whole number ≥ 1, found {args.jobs}")
    digits = DEFAULT_DIGITS if args.digits is None else args.digits
    if not 2 <= digits <= 12:
        raise UsageError(f"--digits: expected a whole number from 2 to 12, found {digits}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: expected a directory, found the file '{out}'")
    request = Request(args.example, args.count, args.seed, out, args.jobs or available_cores(), args.pdf,
                      Path(args.moodle) if args.moodle else None, args.scheduler, digits)
    run_variants(request)
    return 0
