"""Dependencies point one way: cli -> core <- lsp. The core never sees the protocol."""
from __future__ import annotations

import subprocess
import sys


def test_importing_the_core_pulls_in_neither_pygls_nor_lsprotocol() -> None:
    code = (
        "import sys, labelsense.core.engine, labelsense.core.session, labelsense.core.cursor, labelsense.core.fixer\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'rich') or m.startswith('labelsense.lsp') or m.startswith('labelsense.cli'))\n"
        "print(bad)\n"
        "raise SystemExit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
