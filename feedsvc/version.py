"""The one place the release number is written (a leaf: the package root re-exports it, pyproject reads it)."""

__version__ = "1.0.0"
