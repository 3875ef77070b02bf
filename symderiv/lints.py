"""Teaching lints: what a worked example teaches by accident (saturation, dead units, ties, ...).

Each lint has a name, a message and the steps it concerns; a spec silences lints by name.
The registry at the bottom lists the checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lint:
    name: str
    message: str
    steps: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "message": self.message, "steps": list(self.steps)}


def lint_derivation(derivation) -> list[Lint]:
    """All lints of the derivation that its spec does not silence."""
    silenced = set(getattr(derivation.model, "silenced_lints", ()))
    found = []
    for name, check in LINTS.items():
        if name in silenced:
            continue
        found.extend(check(derivation))
    return found


# name -> function(derivation) -> list[Lint]
LINTS: dict = {}
