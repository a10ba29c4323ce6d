"""Packaging check: build the sdist and wheel, install each extra in a clean venv, run it.

Run with ``python -m tests.packaging`` (needs PyPI; not part of the pytest suite, which
opens no socket beyond loopback). See :mod:`tests.packaging.__main__`.
"""
