"""labelsense: a linter and language server for dataset label files."""

__version__ = "0.1.0"
