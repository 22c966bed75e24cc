"""A progress bar on stderr (rich) for long runs on a terminal; silent otherwise."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from ..core.engine import Progress


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress as RichProgress, TextColumn, TimeRemainingColumn

    with RichProgress(TextColumn("[bold]checking[/] {task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                      console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total, description=Path(current).name if current else "")

        yield update
