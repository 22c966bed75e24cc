"""labelsense as a pre-commit hook, through the real `pre-commit try-repo`.

How try-repo sees a local repository (pre-commit 4.x, commands/try_repo.py):
it clones the repo at HEAD; if `git diff HEAD` shows changes it first makes a
"shadow" commit of the *staged and tracked-modified* files, but untracked files
are left out. So pointed at the working tree it would not see a new, not yet
added file (a new .pre-commit-hooks.yaml, a new module). The test therefore
snapshots the working tree (tracked + untracked, minus .gitignore'd files) into
a throwaway git repo with one commit and points try-repo at that: it checks
what is on disk, committed or not.

try-repo also installs the hook into a fresh store inside its own temporary
directory, whatever PRE_COMMIT_HOME says, so each call builds the hook's
virtualenv anew (pip's wheel cache makes the second one faster). PRE_COMMIT_HOME
is still pointed at a session directory so nothing lands in ~/.cache/pre-commit.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900  # one try-repo: clone, virtualenv, pip install labelsense and its deps

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _env(pre_commit_home: Path) -> dict[str, str]:
    # No GIT_DIR/GIT_INDEX_FILE/... from an outer git (pytest run from a hook), a fixed identity.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(pre_commit_home),
        PRE_COMMIT_COLOR="never",
        GIT_AUTHOR_NAME="labelsense test", GIT_AUTHOR_EMAIL="test@example.invalid",
        GIT_COMMITTER_NAME="labelsense test", GIT_COMMITTER_EMAIL="test@example.invalid",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
    )
    return env


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
                          cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _source_files(env: dict[str, str]) -> list[str]:
    """Files of the working tree that a commit of it would hold."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, env=env, check=True, capture_output=True).stdout
        return [p for p in out.decode().split("\0") if p and os.path.lexists(ROOT / p)]
    except subprocess.CalledProcessError:  # not a git checkout (an sdist): take the tree as it is
        skip = {".git", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist"}
        files = []
        for directory, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
            files += [os.path.relpath(os.path.join(directory, n), ROOT) for n in names]
        return files


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, pre_commit_home: Path) -> Path:
    """A one-commit git copy of this repository's working tree."""
    env = _env(pre_commit_home)
    repo = tmp_path_factory.mktemp("labelsense-hook-repo")
    for rel in _source_files(env):
        src, dst = ROOT / rel, repo / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    _git(repo, env, "init", "-q")
    _git(repo, env, "add", "-A")
    _git(repo, env, "commit", "-q", "-m", "snapshot of the labelsense working tree")
    return repo


TAXONOMY = """\
version: 1
classes:
  cat: {description: Domestic cat.}
  dog: {description: Domestic dog.}
"""
CONFIG = """\
[[dataset]]
name = "pets"
manifests = ["data/*.jsonl"]
taxonomy = "taxonomy.yaml"
key = "id"
label = "label"

[rules]
min-samples = 1
"""
GOOD = '{"id": "a1", "label": "cat"}\n{"id": "a2", "label": "dog"}\n'
BAD = '{"id": "a1", "label": "cat"}\n{"id": "a2", "label": "horse"}\n'


def _try_repo(project: Path, hook_repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "labelsense", "--all-files", "--color", "never"],
        cwd=project, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )


@needs_git
def test_try_repo_fails_on_unknown_class_then_passes_when_fixed(tmp_path: Path, hook_repo: Path, pre_commit_home: Path) -> None:
    env = _env(pre_commit_home)
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "labelsense.toml").write_text(CONFIG)
    (project / "taxonomy.yaml").write_text(TAXONOMY)
    (project / "data" / "train.jsonl").write_text(BAD)
    _git(project, env, "init", "-q")
    _git(project, env, "add", "-A")
    _git(project, env, "commit", "-q", "-m", "a dataset with an unknown class")

    bad = _try_repo(project, hook_repo, env)
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0, out
    assert "labelsense" in out and "Failed" in out, out
    assert "data/train.jsonl:2:" in out and "LS301" in out and "horse" in out, out

    (project / "data" / "train.jsonl").write_text(GOOD)
    _git(project, env, "commit", "-q", "-am", "fix the label")
    good = _try_repo(project, hook_repo, env)
    out = good.stdout + good.stderr
    assert good.returncode == 0, out
    assert "Passed" in out and "LS301" not in out, out


def test_hook_manifest_triggers_on_label_files_and_checks_the_whole_repo() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "labelsense" and hook["entry"] == "labelsense check" and hook["language"] == "python"
    # `labelsense check FILE` reports only FILE's findings: a staged taxonomy alone would hide the
    # manifests it breaks, so the hook checks the repository and `files` only decides when it runs.
    assert hook["pass_filenames"] is False
    files = re.compile(hook["files"])
    for name in ("data/train.jsonl", "x.ndjson", "a/b/part-0.parquet", "t.pq", "taxonomy.yaml", "ds/taxonomy.yml",
                 "taxonomy.json", "classes.txt", "sub/labels.txt", "labelsense.toml", "pyproject.toml", "schemas/row.schema.json"):
        assert files.search(name), name
    for name in ("README.md", "src/app.py", "data/train.jsonl.bak", "mytaxonomy.yaml", "package.json", "notes.txt"):
        assert not files.search(name), name
