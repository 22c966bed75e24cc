"""pytest-lsp fixtures: a real labelsense server over stdio, driven by a client
with the capabilities of VS Code, Neovim or Emacs, on a copy of samples/pets."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PROFILES = ["visual-studio-code", "neovim", "emacs"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    shutil.copytree(SAMPLES / "pets", root)
    return root


@pytest_lsp.fixture(
    params=PROFILES,
    config=ClientServerConfig(server_command=[sys.executable, "-m", "labelsense", "serve"]),
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, workspace: Path):
    lsp_client.set_configuration({"maxDiagnosticsPerFile": 1000}, section="labelsense")
    lsp_client.registrations = []

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:  # real clients accept the file watcher
        lsp_client.registrations.extend(params.registrations)

    lsp_client.profile = request.param
    result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(request.param),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="pets")],
        initialization_options={"inlayHints": False},
    ))
    lsp_client.encoding = result.capabilities.position_encoding or "utf-16"  # negotiated: utf-16 unless the client prefers another
    yield
    await lsp_client.shutdown_session()
