"""End-to-end: the editor integrations in editors/ driven in real terminal editors.

Each test starts a real editor headless on a scratch copy of samples/, loads the
integration from editors/ exactly as its README tells a user to (Neovim: the
Lua plugin on the runtimepath + require("labelsense").setup(); Emacs: Eglot +
labelsense.el; Vim: ALE + the linter in editors/vim), opens the pets training
manifest, and has a driver script (tests/e2e/editors/) write what the editor
shows to a JSON file: the LS401 conflict diagnostic, the hover on a label
(the class's description from the taxonomy) and where go to definition lands
(the class's line in taxonomy.yaml). Neovim and Emacs also show the row's
label history (:LabelsenseHistory, M-x labelsense-label-history) from a small
git history made here.

HOME and the XDG folders point into tmp_path, so no user configuration is read
or written; the editor and everything it started are killed by PID.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import REPO, require, run_bounded

DRIVERS = Path(__file__).resolve().parent / "editors"
EDITORS = REPO / "editors"
MANIFEST = "pets/data/train.jsonl"
RUN_TIMEOUT = 45  # seconds for one editor run (a run takes 1-2 s)
AUTHOR = "Ada Annotator"


@dataclass
class Case:
    """What the editors should show for the planted LS401 conflict on the pets train manifest."""

    manifest: Path
    taxonomy: Path
    line: int  # 0-based row with the conflict
    col: int  # 0-based column of the first letter of its label
    key: str
    label: str
    description: str
    class_line: int  # 0-based line of the class in taxonomy.yaml
    previous_label: str  # the label the row had in the first commit (label history)
    second: Path  # the manifest holding the other row of the conflict (opened second)
    second_line: int  # 0-based line of that row


def conflict_case(workspace: Path) -> Case:
    """The first LS401 row of pets/data/train.jsonl in samples/expected-findings.json, and its class."""
    expected = json.loads((workspace / "expected-findings.json").read_text())
    row = next(f["line"] for f in expected if f["path"] == MANIFEST and f["code"] == "LS401")
    manifest = workspace / MANIFEST
    text = manifest.read_text().split("\n")[row - 1]
    data = json.loads(text)
    label = data["label"]
    taxonomy = workspace / "pets" / "taxonomy.yaml"
    tax_lines = taxonomy.read_text().split("\n")
    description = yaml.safe_load(taxonomy.read_text())["classes"][label]["description"]
    previous = next(c for c in ("siamese", "persian", "beagle") if c != label)
    second = next(f for f in expected if f["code"] == "LS401" and f["path"] != MANIFEST)
    return Case(manifest=manifest, taxonomy=taxonomy, line=row - 1, col=text.index(f'"{label}"') + 1,
                key=data["id"], label=label, description=description,
                class_line=tax_lines.index(f"  {label}:"), previous_label=previous,
                second=workspace / second["path"], second_line=second["line"] - 1)


def clean_env(tmp_path: Path, params: Path) -> dict[str, str]:
    """A minimal environment: PATH, a UTF-8 locale, and HOME/XDG folders inside tmp_path."""
    home = tmp_path / "home"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb",
           "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_STATE_HOME": str(home / ".local/state"), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"), "GIT_CONFIG_NOSYSTEM": "1", "LABELSENSE_E2E": str(params)}
    for folder in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"):
        Path(env[folder]).mkdir(parents=True, exist_ok=True)
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    return env


def make_history(workspace: Path, case: Case, env: dict[str, str]) -> None:
    """A git repository over the workspace: the row first committed with another label, then relabelled."""
    git = require("git")
    env = {**env, "GIT_AUTHOR_NAME": AUTHOR, "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": AUTHOR, "GIT_COMMITTER_EMAIL": "ada@example.com"}
    original = case.manifest.read_text()
    lines = original.split("\n")
    lines[case.line] = lines[case.line].replace(f'"label": "{case.label}"', f'"label": "{case.previous_label}"')
    assert lines[case.line] != original.split("\n")[case.line]

    def git_run(*args: str) -> None:
        subprocess.run([git, *args], cwd=workspace, env=env, check=True, capture_output=True, timeout=30)

    git_run("init", "-q")
    case.manifest.write_text("\n".join(lines))
    git_run("add", "-A")
    git_run("commit", "-q", "-m", "import the pets dataset")
    case.manifest.write_text(original)
    git_run("commit", "-q", "-a", "-m", f"relabel {case.key}")


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment holds marker (the editor's children inherit LABELSENSE_E2E)."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def reap(marker: str, grace: float = 3.0) -> list[int]:
    """Wait for the processes the run started (the language server) to exit; SIGKILL the rest by PID."""
    deadline = time.monotonic() + grace
    while (left := processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def run_editor(cmd: list[str], params: dict, *, tmp_path: Path, artifacts: Path, cwd: Path) -> dict:
    """Run an editor driver with params; return the JSON it wrote (artifacts keep it and the editor's output)."""
    out = tmp_path / "result.json"
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps({**params, "out": str(out)}))
    env = clean_env(tmp_path, params_file)
    started = time.monotonic()
    try:
        proc = run_bounded(cmd, timeout=RUN_TIMEOUT, cwd=cwd, env=env)
    finally:
        ran = time.monotonic() - started
        leftovers = reap(str(params_file))
        lsp_log = Path(env["XDG_CACHE_HOME"]) / "nvim" / "lsp.log"
        if lsp_log.exists():
            shutil.copy(lsp_log, artifacts / "nvim-lsp.log")
        for folder in ("HOME", "XDG_RUNTIME_DIR"):  # no editor profile outlives the test
            shutil.rmtree(env[folder], ignore_errors=True)
    timing = {"editor": round(ran, 3), "reap": round(time.monotonic() - started - ran, 3)}
    (artifacts / "timing.json").write_text(json.dumps(timing))
    (artifacts / "stdout.txt").write_text(proc.stdout)
    (artifacts / "stderr.txt").write_text(proc.stderr)
    assert out.exists(), f"{cmd[0]} wrote no result (exit {proc.returncode})\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    result = json.loads(out.read_text())
    (artifacts / "result.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    assert "error" not in result, f"{result['error']}\nsteps: {result.get('steps')}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, f"{cmd[0]} exited {proc.returncode}\nstderr:\n{proc.stderr}"
    assert result["steps"][-1] == "done", result["steps"]
    assert not leftovers, f"processes still running after {cmd[0]} quit: {leftovers}"
    result["timing"] = timing
    return result


def the_conflict(diagnostics: list[dict], case: Case, code_of) -> dict:  # noqa: ANN001 - code_of: dict -> str
    found = [d for d in diagnostics if code_of(d) == "LS401" and d["line"] == case.line]
    assert len(found) == 1, f"no LS401 diagnostic on line {case.line + 1}: {diagnostics}"
    return found[0]


def conflict_message(case: Case) -> str:
    return f"conflicting labels for key '{case.key}': '{case.label}' here"


def check_second(second: dict, case: Case, code_of, text_of) -> None:  # noqa: ANN001
    """The other manifest, opened after the server indexed the dataset, shows its side of the conflict."""
    assert Path(second["file"]).resolve() == case.second.resolve()
    found = [d for d in second["diagnostics"] if code_of(d) == "LS401" and d["line"] == case.second_line]
    assert len(found) == 1, f"no LS401 on line {case.second_line + 1} of {case.second.name}: {second['diagnostics']}"
    assert f"key '{case.key}'" in text_of(found[0]) and f"'{case.label}' at {case.manifest.name}:{case.line + 1}" in text_of(found[0])


def check_definition(definition: dict, case: Case) -> None:
    assert Path(definition["file"]).resolve() == case.taxonomy.resolve(), definition
    assert definition["line"] == case.class_line, definition
    assert definition["text"].strip() == f"{case.label}:"


def check_history(text: str, case: Case) -> None:
    assert f"{case.previous_label} → {case.label}" in text, text
    assert AUTHOR in text and f"relabel {case.key}" in text and "(added)" in text, text


@pytest.mark.timeout(90)
def test_neovim(workspace: Path, labelsense_exe: str, artifacts: Path, tmp_path: Path) -> None:
    nvim = require("nvim")
    case = conflict_case(workspace)
    make_history(workspace, case, clean_env(tmp_path, tmp_path / "params.json"))
    result = run_editor(
        [nvim, "--headless", "--clean", "-n", "-i", "NONE", "-u", str(DRIVERS / "nvim_e2e.lua"), str(case.manifest)],
        {"plugin": str(EDITORS / "nvim"), "cmd": [labelsense_exe, "serve"], "line": case.line, "col": case.col, "history": True,
         "second": str(case.second), "second_line": case.second_line},
        tmp_path=tmp_path, artifacts=artifacts, cwd=workspace)

    assert result["filetype"] == "jsonl"  # editors/nvim/ftdetect
    assert result["client"]["name"] == "labelsense"
    assert Path(result["client"]["root_dir"]) == workspace / "pets"  # nearest labelsense.toml, not the .git above it
    assert result["client"]["cmd"] == [labelsense_exe, "serve"]
    assert result["lspconfig"]["filetypes"] == ["jsonl", "yaml", "json", "toml"]  # registered with (a stand-in) lspconfig
    assert result["lspconfig"]["cmd"] == [labelsense_exe, "serve"]
    assert Path(result["lspconfig"]["root_dir"]) == workspace / "pets" and result["lspconfig"]["has_on_new_config"]

    conflict = the_conflict(result["diagnostics"], case, lambda d: d["code"])
    assert conflict_message(case) in conflict["message"] and conflict["source"] == "labelsense"
    assert conflict["severity"] == 1  # error
    assert conflict["col"] == case.col - 1  # the label value, quotes included

    hover = "\n".join(result["hover"])
    assert f"`{case.label}`" in hover
    assert case.description.rstrip(".") in hover  # Neovim 0.7 shows markdown escapes (`\.`) as they are
    assert "Hierarchy:" in hover and "LS401 conflicting-labels" in hover

    check_definition(result["definition"], case)
    assert result["definition"]["filetype"] == "yaml"
    assert result["definition"]["clients"] == 1  # the taxonomy joined the same server (one client per root)
    check_history("\n".join(result["history"]), case)
    check_second(result["second"], case, lambda d: d["code"], lambda d: d["message"])
    assert result["second"]["filetype"] == "jsonl" and result["second"]["clients"] == 1


@pytest.mark.timeout(90)
def test_emacs(workspace: Path, labelsense_exe: str, artifacts: Path, tmp_path: Path) -> None:
    emacs = require("emacs")
    case = conflict_case(workspace)
    make_history(workspace, case, clean_env(tmp_path, tmp_path / "params.json"))
    result = run_editor(
        [emacs, "--batch", "-l", str(DRIVERS / "emacs_e2e.el")],
        {"plugin": str(EDITORS / "emacs"), "cmd": [labelsense_exe, "serve"], "file": str(case.manifest),
         "line": case.line, "col": case.col, "history": True, "second": str(case.second), "second_line": case.second_line},
        tmp_path=tmp_path, artifacts=artifacts, cwd=workspace)

    assert result["major_mode"] == "jsonl-mode"  # labelsense.el's auto-mode-alist entry
    assert Path(result["server"]["root"]) == workspace / "pets"  # labelsense.el's project finder
    assert result["server"]["command"] == [labelsense_exe, "serve"]

    conflict = the_conflict(result["diagnostics"], case, lambda d: "LS401" if "[LS401]" in d["text"] else None)
    assert conflict["text"].startswith("labelsense [LS401]: " + conflict_message(case))
    assert conflict["type"] == "eglot-error" and conflict["col"] == case.col - 1

    hover = result["hover"]
    if result["markdown"]:  # markdown-mode installed: Eglot asks for markdown, shown with gfm-view-mode
        assert f"`{case.label}`" in hover and case.description.rstrip(".") in hover
    else:  # Eglot alone asks for plain text
        assert hover.startswith(f"class {case.label}\n")
        assert case.description in hover.split("\n")
        assert "\\" not in hover and "**" not in hover

    check_definition(result["definition"], case)
    check_history(result["history"], case)
    check_second(result["second"], case, lambda d: "LS401" if "[LS401]" in d["text"] else None, lambda d: d["text"])
    assert result["second"]["major_mode"] == "jsonl-mode" and result["second"]["same_server"]


@pytest.mark.timeout(90)
def test_vim_ale(workspace: Path, labelsense_exe: str, artifacts: Path, tmp_path: Path) -> None:
    vim = require("vim")
    case = conflict_case(workspace)
    result = run_editor(
        [vim, "-N", "-u", str(DRIVERS / "vim_e2e.vim"), "-i", "NONE", "-n", "-es", str(case.manifest)],
        {"plugin": str(EDITORS / "vim"), "cmd": [labelsense_exe, "serve"], "line": case.line, "col": case.col,
         "second": str(case.second), "second_line": case.second_line},
        tmp_path=tmp_path, artifacts=artifacts, cwd=workspace)

    assert result["filetype"] == "jsonl"  # editors/vim/ftdetect
    conflict = the_conflict(result["diagnostics"], case, lambda d: d["code"])
    assert conflict_message(case) in conflict["text"]
    assert conflict["type"] == "E" and conflict["linter"] == "labelsense" and conflict["col"] == case.col - 1

    hover = result["hover"]
    assert hover[0] == f"class {case.label}"  # ALE asks for plain text
    assert case.description in hover
    assert not any("\\" in line or "**" in line for line in hover)

    check_definition(result["definition"], case)
    check_second(result["second"], case, lambda d: d["code"], lambda d: d["text"])
    assert result["second"]["filetype"] == "jsonl"
