"""``symderiv variants``, start to end: read the rules, screen candidates, build the variants, write the files.

Bad input (the spec, its ``[variants]`` rules, rules no variant can meet) stops the command before
anything is written. Then each variant's folder is written as its build finishes; a variant whose
build fails (a LaTeX error) is reported with its number and the others are still written. A variant
whose files are on disk as its last build left them, from the same spec, mark, templates, symderiv
version and options, is not built again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path

from symderiv.errors import SpecError, SymderivError
from symderiv.render.compile import write_atomic
from symderiv.variants.answers import Row, asked_entries, csv_text, json_text, tolerance
from symderiv.variants.build import BuildJob, Built, build, build_hash
from symderiv.variants.jobs import progress, runner, screen_in_order
from symderiv.variants.rules import parse_rules
from symderiv.variants.sample import Sampler, variant_spec_text

SPEC_FILE = "spec.toml"
#: Where the PDFs compile and the build records are kept, inside the output folder.
STAGING = Path(".symderiv-latex") / "variants"


@dataclass(frozen=True)
class Request:
    reference: str
    count: int
    seed: int
    out: Path
    jobs: int
    pdf: bool = False
    moodle: Path | None = None
    scheduler: str | None = None
    digits: int = 4


@dataclass
class Variant:
    number: int
    folder: str
    spec_text: str
    derivation: object
    answers: tuple


@dataclass
class Outcome:
    variants: list[Variant]
    built: list[int] = field(default_factory=list)
    up_to_date: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)


class VariantsFailed(SymderivError):
    """Some variants could not be built (each was reported); the others are written."""


def run_variants(request: Request, say=print) -> Outcome:
    """Make ``request.count`` variants of the example into ``request.out``; raise :class:`VariantsFailed`
    after writing everything else when some variants failed."""
    from symderiv.api import derive_spec
    from symderiv.spec.load import parse_spec_text, read_spec_text
    from symderiv.spec.toml_text import load_toml

    text, source = read_spec_text(request.reference)
    spec = parse_spec_text(text, source)            # the example itself must be valid
    try:
        rules = parse_rules(load_toml(text, source))
        entries = tuple(asked_entries(derive_spec(spec), rules.ask))
        if rules.combinations < request.count:
            raise SpecError("variants.vary", f"grids that allow at least {request.count} different variants "
                                             f"(--count {request.count})", f"{rules.combinations} in all")
    except SpecError as err:
        raise err.with_source(source) from None
    if request.pdf and shutil.which("pdflatex") is None:
        raise SymderivError("pdflatex is needed for --pdf (run `make setup`, or install TeX Live: "
                            "texlive-latex-extra, texlive-pictures)")

    name = spec.name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "example"
    width = max(2, len(str(request.count)))
    run = runner(request.jobs, request.scheduler)
    try:
        try:
            accepted = screen_in_order(run, Sampler(text, rules, request.seed), request.count, rules.constraints,
                                       entries, rules.budget)
        except SpecError as err:
            raise err.with_source(source) from None
        variants = [Variant(n, f"{stem}-v{n:0{width}d}", variant_spec_text(a.text, name, n, request.seed),
                            a.verdict.derivation, a.verdict.answers)
                    for n, a in enumerate(accepted, start=1)]
        outcome = Outcome(variants)
        _build_all(run, request, name, variants, outcome)
    finally:
        run.close()

    outcome.rows = [Row(v.number, v.folder, a, tolerance(a.value, rules.relative, rules.absolute))
                    for v in variants for a in v.answers]
    _write_answers(request, name, outcome, say)
    if outcome.failed:
        numbers = ", ".join(str(n) for n in sorted(outcome.failed))
        raise VariantsFailed(f"{len(outcome.failed)} of {request.count} variants failed ({numbers}); the others "
                             f"are written, and running the same command again builds only what is missing")
    return outcome


def _build_all(run, request: Request, name: str, variants: list[Variant], outcome: Outcome) -> None:
    staging = request.out / STAGING
    jobs = []
    for v in variants:
        digest = build_hash(v.spec_text, name, v.number, request.seed, request.digits, request.pdf)
        if _up_to_date(request.out / v.folder, staging / f"{v.folder}.json", digest):
            outcome.up_to_date.append(v.number)
            continue
        write_atomic(request.out / v.folder / SPEC_FILE, v.spec_text)
        jobs.append((v, digest, BuildJob(v.number, v.folder, name, request.seed, v.derivation, request.digits,
                                         request.pdf, str(staging.resolve()))))
    if not jobs:
        return
    futures = {run.executor.submit(build, job): (v, digest) for v, digest, job in jobs}
    with progress(len(jobs), "building") as bar:
        for future in as_completed(futures):
            v, digest = futures[future]
            try:
                built = future.result()
            except Exception as err:      # a bug or a lost worker: this variant fails, the others go on
                built = Built(v.number, error=f"internal error ({type(err).__name__}: {err})")
            _write_variant(request.out / v.folder, v, built, staging / f"{v.folder}.json", digest, outcome)
            bar.update(1)


def _write_variant(folder: Path, v: Variant, built: Built, record: Path, digest: str, outcome: Outcome) -> None:
    for file_name, text in built.texts.items():
        write_atomic(folder / file_name, text)
    for file_name, data in {**built.pdfs, **{k: v.encode("utf-8") for k, v in built.logs.items()}}.items():
        _write_bytes(folder / file_name, data)
    if built.error is not None:
        outcome.failed[v.number] = built.error
        print(f"symderiv: error: variant {v.number} ({folder}): {built.error}", file=sys.stderr)
        return
    for tex in built.texts:              # PDFs or logs of an earlier build that this one did not make
        for stale in (Path(tex).with_suffix(".pdf").name, Path(tex).with_suffix(".log").name):
            if stale not in built.pdfs:
                (folder / stale).unlink(missing_ok=True)
    files = [SPEC_FILE, *built.texts, *built.pdfs]
    entry = {"hash": digest, "files": {f: _sha256(folder / f) for f in files}}
    write_atomic(record, json.dumps(entry, indent=1, sort_keys=True) + "\n")
    outcome.built.append(v.number)


def _up_to_date(folder: Path, record: Path, digest: str) -> bool:
    """The record of the variant's last build has this hash, and every file it lists is as it left it."""
    try:
        entry = json.loads(record.read_text(encoding="utf-8"))
        return entry["hash"] == digest and all(
            (folder / f).is_file() and _sha256(folder / f) == sha for f, sha in entry["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    """Write bytes through a temporary file and a rename, as :func:`write_atomic` does for text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_answers(request: Request, name: str, outcome: Outcome, say) -> None:
    out = request.out
    failed = f", {len(outcome.failed)} failed" if outcome.failed else ""
    say(f"wrote {len(outcome.variants)} variants of {name} (seed {request.seed}) into {out}/: "
        f"{outcome.variants[0].folder} to {outcome.variants[-1].folder} "
        f"({len(outcome.built)} built{failed}, {len(outcome.up_to_date)} already up to date)")
    write_atomic(out / "answers.csv", csv_text(outcome.rows))
    write_atomic(out / "answers.json", json_text(name, request.seed, request.count, outcome.rows))
    say(f"wrote {out / 'answers.csv'} and {out / 'answers.json'} ({len(outcome.rows)} answers)")
    if request.moodle is not None:
        from symderiv.variants.moodle import quiz_xml

        variants = [(v.number, v.folder, v.derivation) for v in outcome.variants]
        write_atomic(request.moodle, quiz_xml(name, request.seed, variants, outcome.rows))
        say(f"wrote {request.moodle} ({len(outcome.rows)} Moodle questions)")
