"""End to end in a real VS Code: the labelsense extension (editors/vscode) in
code-server 4.100.3, driven through headless Chromium by tests/e2e/vscode/drive.mjs.

The test starts code-server and Chromium (each in its own process group, with
every profile and state directory under tmp_path), installs the freshly built
.vsix, and asserts on what the driver saw: the LS401 squiggle and its row in the
Problems panel, the class description in the hover, F12 landing on the class in
the taxonomy, and F2 renaming the class in the taxonomy and in every manifest on
disk. Screenshots go to the artifacts folder. Installs: .ci/install-vscode."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import REPO, kill_group, require, run_bounded

E2E = Path(__file__).resolve().parent / "vscode"
CODE_SERVER = E2E / "node_modules" / ".bin" / "code-server"
EXTENSION = REPO / "editors" / "vscode"
VSIX = EXTENSION / "dist" / "labelsense.vsix"

# The planted LS401 conflict in samples/pets: img_000118 is maine_coon on line 18, persian on line 27.
MANIFEST = "pets/data/train.jsonl"
ROW = {"line": 18, "has": ['"img_000118"']}
LABEL, NEW_NAME = "maine_coon", "maine_coon_cat"
DESCRIPTION = "Maine Coon; large, long-haired, tufted ears."
MESSAGE = "conflicting labels for key 'img_000118': 'maine_coon' here, 'persian' at train.jsonl:27"
TAXONOMY = {"path": "pets/taxonomy.yaml", "line": 25, "column": 3}
AUTHOR = "Ada Annotator"
# A Parquet manifest added to the pets dataset: maine_coon once, and a conflict on img_900002.
PARQUET = "pets/data/extra.parquet"
PARQUET_ROWS = [
    {"id": "img_900001", "image": "images/train/maine_coon_0001.jpg", "label": LABEL},
    {"id": "img_900002", "image": "images/train/pug_0009.jpg", "label": "pug"},
    {"id": "img_900002", "image": "images/train/pug_0009.jpg", "label": "beagle"},
]

T = TypeVar("T")

SETTINGS = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "workbench.editor.enablePreview": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "git.enabled": False,
    "chat.commandCenter.enabled": False,
    "editor.minimap.enabled": False,
    "editor.hover.delay": 200,
}


def _vsix() -> Path:
    """The extension's .vsix, rebuilt when a source is newer (the build is offline after npm ci)."""
    sources = [*EXTENSION.glob("src/*.ts"), EXTENSION / "package.json", EXTENSION / "package-lock.json"]
    if not VSIX.exists() or VSIX.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        built = run_bounded([str(EXTENSION / "scripts" / "build")], timeout=180)
        assert built.returncode == 0, built.stdout + built.stderr
    return VSIX


def _prepare(workspace: Path) -> None:
    """Add the Parquet manifest to the pets dataset, and commit everything (label history needs a commit)."""
    pq.write_table(pa.Table.from_pylist(PARQUET_ROWS), workspace / PARQUET)
    config = workspace / "pets" / "labelsense.toml"
    text = config.read_text()
    assert 'manifests = ["data/*.jsonl"]' in text
    config.write_text(text.replace('manifests = ["data/*.jsonl"]', 'manifests = ["data/*.jsonl", "data/*.parquet"]'))
    git = ["git", "-C", str(workspace), "-c", f"user.name={AUTHOR}", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "Initial labels"]):
        done = run_bounded([*git, *args], timeout=30)
        assert done.returncode == 0, done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _process_group(cmd: list[str], log: Path, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A background process in its own process group; the whole group is killed by PID on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        kill_group(proc.pid)
        proc.wait(timeout=10)


def _wait(what: str, probe: Callable[[], T], timeout: float, log: Path) -> T:
    """Poll probe until it returns something truthy; fail with the tail of log after timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = probe()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} did not come up in {timeout} s; {log.name}:\n{log.read_text(errors='replace')[-3000:]}")


def _healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
        return response.status == 200


def _processes_in(folder: Path) -> list[str]:
    """Processes whose working directory is under folder (everything this test started runs there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {cmdline[:200]}")
        except OSError:
            continue
    return found


@pytest.mark.timeout(240)
def test_vscode_extension(workspace: Path, artifacts: Path, labelsense_exe: str, tmp_path: Path) -> None:
    if not CODE_SERVER.exists():
        pytest.fail("code-server is not installed: run .ci/install-vscode")
    chromium = require("chromium")
    vsix = _vsix()
    for stale in [*artifacts.glob("*.png"), *artifacts.glob("*.json")]:
        stale.unlink()
    _prepare(workspace)
    line = (workspace / MANIFEST).read_text().splitlines()[ROW["line"] - 1]
    row = {**ROW, "column": line.index(f'"{LABEL}"') + 2}  # 1-based, inside the quotes

    state = tmp_path / "state"  # XDG dirs and Chromium's HOME: nothing is written outside tmp_path...
    user, extensions, profile = tmp_path / "user", tmp_path / "extensions", tmp_path / "chromium"
    # ...but TMPDIR: VS Code puts IPC sockets there, and a socket path must stay under 108 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="labelsense-vscode-"))
    env = {**os.environ, "TMPDIR": str(scratch),
           **{f"XDG_{d}_HOME": str(state / d.lower()) for d in ("CONFIG", "DATA", "CACHE", "STATE")}}
    code_server = [str(CODE_SERVER), "--user-data-dir", str(user), "--extensions-dir", str(extensions)]
    installed = run_bounded([*code_server, "--install-extension", str(vsix)], timeout=60, cwd=tmp_path, env=env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    (user / "User").mkdir(parents=True, exist_ok=True)
    settings = {**SETTINGS, "labelsense.server.command": [labelsense_exe], "labelsense.trace.server": "verbose"}
    (user / "User" / "settings.json").write_text(json.dumps(settings))

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server_log, browser_log = tmp_path / "code-server.log", tmp_path / "chromium.log"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)  # runs last, after every process is gone
        stack.enter_context(_process_group(
            [*code_server, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
             "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override",
             "--ignore-last-opened", str(workspace)], server_log, tmp_path, env))
        stack.enter_context(_process_group(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
             f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "--window-size=1600,1000", "about:blank"],
            browser_log, tmp_path, {**env, "HOME": str(state / "home")}))
        _wait("code-server", lambda: _healthy(url), 30, server_log)
        active_port = profile / "DevToolsActivePort"
        cdp_port = _wait("Chromium", lambda: active_port.exists() and active_port.read_text().split("\n")[0], 30, browser_log)

        config = {"cdp": f"http://127.0.0.1:{cdp_port}", "url": url, "folder": str(workspace), "artifacts": str(artifacts),
                  "manifest": MANIFEST, "row": row, "label": LABEL, "description": DESCRIPTION, "code": "LS401",
                  "message": MESSAGE, "taxonomy": TAXONOMY, "newName": NEW_NAME,
                  "references": ["train.jsonl", "val.jsonl", "test.jsonl", "extra.parquet"],
                  "parquet": {"path": PARQUET, "conflictKey": PARQUET_ROWS[1]["id"]}}
        driven = run_bounded(["node", str(E2E / "drive.mjs"), json.dumps(config)], timeout=120, cwd=E2E, env=env)
        try:
            result = json.loads(driven.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            pytest.fail(f"drive.mjs printed no result (exit {driven.returncode}):\n{driven.stdout}\n{driven.stderr}")
        (artifacts / "drive.json").write_text(json.dumps(result, indent=2))
        client_log = _wait("the client's log", lambda: _client_log(user), 10, server_log)
        assert result.get("error") is None, (
            f"{result['error']}\nsteps: {result['steps']}\nlabelsense output:\n{client_log[-3000:]}")
        # Save All has written every file the rename touched (open or not) before VS Code stops.
        renamed = _wait_for_rename(workspace)

    steps = {s["name"]: s for s in result["steps"]}
    # LS401 on the maine_coon row: a squiggle under the label, and its row in the Problems panel.
    assert steps["diagnostic"]["squiggleUnderLabel"]
    assert any(MESSAGE in r for r in steps["problems"]["rows"]), steps["problems"]["rows"]
    assert DESCRIPTION in steps["hover"]["text"]
    assert any(AUTHOR in r and f"→ {LABEL}" in r for r in steps["history"]["rows"]), steps["history"]
    # F12 lands on the class in the taxonomy; its code lens lists the rows of every manifest.
    assert steps["definition"]["selection"].startswith(f"Ln {TAXONOMY['line']},"), steps["definition"]
    assert steps["codelens"]["lens"] == "6 samples in 4 files", steps["codelens"]
    # The Parquet manifest as a JSONL view, with hover.
    assert steps["parquet"]["tab"] == "extra.parquet" and steps["parquet"]["language"] == "JSON Lines"
    assert json.loads(steps["parquet"]["firstLine"]) == PARQUET_ROWS[0]
    assert DESCRIPTION in steps["parquet"]["hover"]
    assert steps["rename"]["dirty"] == []
    assert (artifacts / "hover.png").stat().st_size > 0 and (artifacts / "problems.png").stat().st_size > 0
    # The server's indexing progress reached the client (the status bar shows it while it lasts).
    assert "window/workDoneProgress/create" in client_log and '"title": "labelsense: indexing"' in client_log

    # The rename is on disk: the class in the taxonomy, the label (never the image path) in every JSONL manifest.
    assert renamed == [], renamed

    assert _wait_gone(tmp_path) == []


def _rename_missing(workspace: Path) -> list[str]:
    """Files that do not show the rename yet: the taxonomy's class, the label in each JSONL manifest."""
    missing = []
    taxonomy = (workspace / TAXONOMY["path"]).read_text()
    if f"\n  {NEW_NAME}:\n" not in taxonomy or f"\n  {LABEL}:\n" in taxonomy:
        missing.append(TAXONOMY["path"])
    for manifest in ("train", "val", "test"):
        before = (REPO / "samples" / "pets" / "data" / f"{manifest}.jsonl").read_text()
        after = (workspace / "pets" / "data" / f"{manifest}.jsonl").read_text()
        if after != before.replace(f'"label": "{LABEL}"', f'"label": "{NEW_NAME}"') or after == before:
            missing.append(f"pets/data/{manifest}.jsonl")
    return missing


def _wait_for_rename(workspace: Path, timeout: float = 10) -> list[str]:
    end = time.monotonic() + timeout
    while (missing := _rename_missing(workspace)) and time.monotonic() < end:
        time.sleep(0.1)
    return missing


def _client_log(user: Path) -> str:
    """The labelsense output channel (with the protocol trace), as VS Code saved it."""
    return "".join(p.read_text(errors="replace") for p in sorted(user.glob("logs/*/exthost*/output_logging_*/*labelsense.log")))


def _wait_gone(folder: Path, timeout: float = 5) -> list[str]:
    """Every process this test started has exited (their children too)."""
    end = time.monotonic() + timeout
    while (left := _processes_in(folder)) and time.monotonic() < end:
        time.sleep(0.1)
    return left
