"""TOML text to a dict, each syntax error one line; a key or table defined twice is named by its path.

``tomllib`` reports a duplicated key as "Cannot overwrite a value (at line 10, column 16)", which
does not say which key. Spec and claims files are small, so on such an error we find the key again:
the statement that starts at (or ends on) the reported line is parsed on its own, and the table
header in force there gives the rest of the dotted path (``network.hidden_size``).
"""

from __future__ import annotations

import re
import tomllib

from symderiv.errors import SpecError

_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column \d+\)$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def load_toml(text: str, source: str | None = None) -> dict:
    """The parsed document; a syntax error becomes a :class:`SpecError` naming the field where it can."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _error(str(err), text, source) from None


def _error(message: str, text: str, source: str | None) -> SpecError:
    position = _POSITION.search(message)
    line = int(position["line"]) if position else None
    reason = message[:position.start()] if position else message
    at = f" at line {line}" if line else ""
    table = re.fullmatch(r"Cannot declare \((.*)\) twice", reason)
    if table:
        path = dotted(_tuple_keys(table[1]))
        return SpecError(path, "a table declared once", f"[{path}] declared twice (the second time{at})", source)
    inline = re.fullmatch(r"Duplicate inline table key '(.*)'", reason)
    if line and (reason == "Cannot overwrite a value" or inline):
        lines = text.splitlines()
        path = _inline_path(lines, line, inline[1]) if inline else _key_path(lines, line)
        if path:
            return SpecError(dotted(path), "a key defined once", f"it defined twice (the second time{at})", source)
    frozen = re.fullmatch(r"Cannot mutate immutable namespace \((.*)\)", reason)
    if frozen:
        path = dotted(_tuple_keys(frozen[1]))
        return SpecError(path, "all of its keys inside its inline table { ... }",
                         f"a key added to it later{at}", source)
    return SpecError("(file)", "valid TOML", f"a syntax error ({message})", source)


def dotted(keys) -> str:
    """A TOML key path as written in a file: ``claims."dL/dz_3"``, ``network.hidden_size``."""
    return ".".join(k if _BARE_KEY.match(k) else '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for k in keys)


def _tuple_keys(text: str) -> tuple[str, ...]:
    """``'claims', 'forward pass'`` (a tuple as tomllib prints it) back to its keys."""
    return tuple(a or b for a, b in re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text))


def _key_path(lines: list[str], line: int) -> tuple[str, ...] | None:
    """The full path of the key (or table header) whose statement ends on ``line`` (1-based)."""
    for start in range(line - 1, -1, -1):               # the statement may span lines (a multi-line string)
        statement = "\n".join(lines[start:line])
        try:
            parsed = tomllib.loads(statement)
        except tomllib.TOMLDecodeError:
            continue
        if not parsed:                                   # a comment or blank line: keep looking
            continue
        own = _key_of(lines[start])
        if own is None:
            return None
        header = () if own[0] == "header" else _header_before(lines, start)
        return header + own[1]
    return None


def _inline_path(lines: list[str], line: int, inner: str) -> tuple[str, ...] | None:
    """The path of ``inner`` in the inline table on ``line`` (inline tables are one line long)."""
    own = _key_of(lines[line - 1])
    if own is None or own[0] != "key":
        return None
    return _header_before(lines, line - 1) + own[1] + (inner,)


def _key_of(line: str) -> tuple[str, tuple[str, ...]] | None:
    """("header", keys) for ``[a.b]``/``[[a.b]]``, ("key", keys) for ``a.b = ...`` (keys parsed by tomllib)."""
    stripped = line.strip()
    if stripped.startswith("["):
        try:
            return "header", _only_path(tomllib.loads(stripped))
        except tomllib.TOMLDecodeError:
            return None
    equals = _unquoted_equals(stripped)
    if equals is None:
        return None
    try:
        return "key", _only_path(tomllib.loads(stripped[:equals] + "= 0"))
    except tomllib.TOMLDecodeError:
        return None


def _only_path(doc) -> tuple[str, ...]:
    """The one chain of keys a single key or header parses to (``{"a": {"b": 0}}`` -> ``("a", "b")``)."""
    keys = []
    while isinstance(doc, (dict, list)) and doc:
        if isinstance(doc, list):
            doc = doc[-1]
            continue
        key = next(iter(doc))
        keys.append(key)
        doc = doc[key]
    return tuple(keys)


def _unquoted_equals(line: str) -> int | None:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return i
    return None


def _header_before(lines: list[str], start: int) -> tuple[str, ...]:
    """The path of the table header in force at line ``start`` (0-based): the last real header above it."""
    for i in range(start - 1, -1, -1):
        if not lines[i].lstrip().startswith("["):
            continue
        try:
            tomllib.loads("\n".join(lines[:i + 1]))      # a header line inside a multi-line string fails here
        except tomllib.TOMLDecodeError:
            continue
        own = _key_of(lines[i])
        if own and own[0] == "header":
            return own[1]
    return ()
