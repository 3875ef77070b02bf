"""pytest plugin: collects ``*.claims.toml`` files as test items (filled in by the claims checker)."""
