"""The distribution's version: the one place it is written.

``pyproject.toml`` reads it (``[tool.hatch.version]``) for the built wheel and sdist, and
all three packages export it as ``__version__``.
"""

__version__ = "0.1.0"
