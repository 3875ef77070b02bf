"""The numbers the reference lecture prints for its worked examples, as claims files (package data)."""
