"""The public entry points: load a spec, derive it, verify it — the first three stages of the pipeline."""

from __future__ import annotations

from symderiv.models import network_of
from symderiv.network import derive as derive_network
from symderiv.errors import SpecError
from symderiv.spec.load import parse_spec_text, read_spec_text
from symderiv.steps import Derivation
from symderiv.verify import Verification, verify


def derive_spec(spec, forward_only: bool = False) -> Derivation:
    """Derive a validated spec; ``forward_only`` stops after the loss."""
    return derive_network(network_of(spec), forward_only)


def derive(reference: str) -> Derivation:
    """Derive a built-in example (by name) or a spec file (by path)."""
    text, source = read_spec_text(reference)
    spec = parse_spec_text(text, source=source)
    try:
        return derive_spec(spec)
    except SpecError as err:           # a field only the derivation can judge (a formula outside its domain)
        raise err.with_source(source) from None


def derive_text(toml_text: str) -> Derivation:
    """Derive a spec given as TOML text."""
    return derive_spec(parse_spec_text(toml_text))


def derive_and_verify(reference: str, finite_differences: bool = True) -> tuple[Derivation, Verification]:
    """Derive and verify; raises :class:`~symderiv.errors.VerificationError` on any disagreement."""
    derivation = derive(reference)
    verification = verify(derivation, finite_differences=finite_differences)
    verification.raise_if_failed()
    return derivation, verification
