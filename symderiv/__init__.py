"""symderiv: exact, verified, step-by-step derivations of small neural-network worked examples."""

__version__ = "0.1.0"

__all__ = ["derive", "derive_and_verify", "derive_text", "__version__"]


def __getattr__(name):
    # Lazy: `import symderiv` (e.g. by the pytest plugin in someone else's test run) must not pay
    # for SymPy until a derivation is asked for.
    if name in ("derive", "derive_and_verify", "derive_text"):
        from symderiv import api
        return getattr(api, name)
    raise AttributeError(f"module 'symderiv' has no attribute {name!r}")
