"""Find and read a spec: a built-in example by name, or a TOML file; dispatch on its kind.

``example.kind`` names a preset (:data:`symderiv.models.PRESETS`), whose module parses the rest.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from symderiv.errors import SpecError, UsageError
from symderiv.models import PRESETS, preset
from symderiv.spec import fields
from symderiv.spec.fields import Table
from symderiv.spec.toml_text import load_toml

EXAMPLES_PACKAGE = "symderiv.examples"


def builtin_names() -> list[str]:
    """Names of the built-in examples, sorted."""
    files = resources.files(EXAMPLES_PACKAGE).iterdir()
    return sorted(f.name[: -len(".toml")] for f in files if f.name.endswith(".toml"))


def builtin_text(name: str) -> str:
    return resources.files(EXAMPLES_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def load_spec(reference: str):
    """A validated spec from a built-in example name or a path to a ``.toml`` file."""
    text, source = read_spec_text(reference)
    return parse_spec_text(text, source=source)


def read_spec_text(reference: str) -> tuple[str, str]:
    """The TOML text of a built-in example (by name) or a spec file (by path), and how errors name it."""
    if reference in builtin_names():
        return builtin_text(reference), f"example {reference}"
    path = Path(reference)
    if not path.exists():
        known = ", ".join(builtin_names())
        raise UsageError(f"'{reference}' is neither a built-in example ({known}) nor an existing spec file")
    if path.is_dir():
        raise UsageError(f"'{reference}' is a directory, not a spec file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError("(file)", "a UTF-8 TOML text file", "bytes that are not UTF-8 text", str(path)) from None
    return text, str(path)


def parse_spec_text(text: str, source: str | None = None):
    data = load_toml(text, source)
    try:
        return parse_spec(data)
    except SpecError as err:
        raise err.with_source(source) if source else err from None


def parse_spec(data: dict):
    doc = Table(data)
    example = doc.table("example")
    example.allow_only(("name", "kind", "title", "description"))
    kind = fields.choice(example.require("kind", f"one of {', '.join(map(repr, PRESETS))}"), example.field("kind"),
                         PRESETS)
    meta = {
        "name": fields.text(example.require("name", "a name"), example.field("name")),
        "kind": kind,
        "title": fields.text(example.raw("title", example.raw("name", "")), example.field("title")),
        "description": fields.text(example.raw("description", ""), example.field("description"), allow_empty=True),
    }
    return preset(kind).parse(doc, meta)


def printed_text(spec) -> list[tuple[str, str]]:
    """The user text of a spec that the documents print, each with its field (for warnings about glyphs)."""
    title_field = "example.title" if spec.title != spec.name else "example.name"
    out = [(title_field, spec.title), ("example.description", spec.description)]
    out += [(f"input.vocabulary[{i}]", word) for i, word in enumerate(getattr(spec, "vocabulary", None) or ())]
    for key, name in (getattr(spec, "names", None) or {}).items():
        role, layer = key if isinstance(key, tuple) else (key, 1)
        default = role if layer == 1 else f"{role}_{layer}"
        if name != default:
            out.append((f"names.{default}", name))
    return out
