"""``symderiv list``: the built-in examples, one a line, name first."""

from __future__ import annotations

from symderiv.spec.load import builtin_names, builtin_text


def add_arguments(parser) -> None:
    pass


def _title(name: str) -> str:
    import tomllib
    data = tomllib.loads(builtin_text(name))
    example = data.get("example", {})
    return f"{example.get('kind', '?')}: {example.get('title', '')}"


def run(args) -> int:
    for name in builtin_names():
        print(f"{name}\t{_title(name)}")
    return 0
