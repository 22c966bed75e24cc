"""The language server: a thin LSP front end over `labelsense.core`."""
