"""symderiv: exact, verified, step-by-step derivations of small neural-network worked examples."""

__version__ = "0.1.0"

from symderiv.api import derive, derive_and_verify, derive_text  # noqa: E402

__all__ = ["derive", "derive_and_verify", "derive_text", "__version__"]
