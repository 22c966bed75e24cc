"""A media path that leads to no readable file inside the workspace.

What it does: resolves each row's media path (the `media` field: `image`,
`audio`, `path` or `file` by default) against the dataset's `media_root`,
relative to the config file's directory, and reports a path whose file does
not exist, that is a directory, or that leaves the workspace root: through
`..`, as an absolute path elsewhere, or through a symbolic link pointing out.
A path outside the workspace is never opened, by this rule or by any other
part of labelsense (hover previews included). Only existence is checked here,
with one `lstat` per file: nothing is read.

Why it matters: a row whose file is gone trains on nothing — data loaders
crash on it or, worse, skip it silently; a path that escapes the dataset
(`../../home/...`) is either a broken export or an attempt to make tools read
files they should not.

Example: `{"id": "img_7", "image": "images/train/cat_0007.jpg", "label": "cat"}`
where `images/train/cat_0007.jpg` was never uploaded.

Fix: restore the file or drop the row; for an outside path, copy the file into
the dataset and use a relative path; check `media_root` when every row is reported.
"""
from typing import Iterator

from ..dataset import Dataset
from ..types import Finding, Severity
from .base import Rule


def check(ds: Dataset) -> Iterator[Finding]:
    for ref, located in ds.media_rows():
        problem = located.problem()
        if problem is not None:
            yield RULE.at(ds.manifest(ref).path, ds.span(ref, "media"), problem)


RULE = Rule("LS501", "missing-media", Severity.ERROR, check, __doc__, reads=frozenset({"media"}))
