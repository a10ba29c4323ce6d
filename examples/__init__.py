"""Runnable examples; ``python -m examples`` runs them all (see the README)."""
