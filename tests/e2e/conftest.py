"""Fixtures for end-to-end tests in real editors: the server command, a scratch
copy of samples/, an artifacts folder, and bounded subprocess runs that kill
the whole process group by PID on timeout."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LABELSENSE_ARTIFACTS", REPO / ".artifacts")) / "e2e"


def server_executable() -> str:
    """The `labelsense` console script of the interpreter running the tests."""
    found = Path(sys.executable).with_name("labelsense")
    if found.exists():
        return str(found)
    on_path = shutil.which("labelsense")
    if on_path is None:
        pytest.fail("the `labelsense` console script is not installed (pip install -e .)")
    return on_path


def require(program: str) -> str:
    """Path of an editor binary; missing ones fail (CI installs them with .ci/install-editors)."""
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run .ci/install-editors")
    return path


@pytest.fixture
def labelsense_exe() -> str:
    return server_executable()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A scratch copy of samples/ (editors may write to it: rename, save)."""
    root = tmp_path / "samples"
    shutil.copytree(REPO / "samples", root)
    return root


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_bounded(cmd: list[str], *, timeout: float, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run cmd in its own process group; on timeout kill the group (server included) and fail."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        out, err = proc.communicate()
        pytest.fail(f"{cmd[0]} timed out after {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    finally:
        kill_group(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by pid (the editor and the server it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
