"""Arrow's memory pool: jemalloc where pyarrow has it, unless ARROW_DEFAULT_MEMORY_POOL
says otherwise. Measured on a 1M-row check (benchmarks/): with mimalloc, pyarrow's
default, the run took 4.8–5.2 s and peaked at 1.43 GB; with jemalloc 4.1–4.3 s and
1.11 GB (the system allocator: 4.3–4.7 s, 1.28 GB)."""
from __future__ import annotations

import os

import pyarrow as pa


def release() -> None:
    """Hand the memory of freed Arrow buffers back to the system now (a long-lived server
    would otherwise keep the high-water mark of the last table it read)."""
    pa.default_memory_pool().release_unused()


def choose() -> None:
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowException):  # a pyarrow built without jemalloc
        pass


choose()
