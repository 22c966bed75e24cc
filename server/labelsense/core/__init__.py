"""The labelsense analysis core: readers, taxonomy, config, rules, engine.

Knows nothing of LSP or terminals; the CLI and the language server are front
ends over it.
"""
