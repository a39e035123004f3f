"""Third-party Braze clients run against a live Herald.

`tests/clients/node/` pins the npm clients (package-lock.json); each `*.mjs` script there
calls one group of a client's methods and prints one JSON object of what they answered.
`braze_node("campaigns.mjs", key, HERALD_CAMPAIGN_ID=...)` runs a script against the
live server and returns that object; a call the client rejects fails the test with the
script's output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import missing

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
def node_clients():
    """`npm ci` once per session (again only when the lock file changed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        missing("client contract tests need Node.js and npm")
    lock = NODE_DIR / "package-lock.json"
    stamp = NODE_DIR / "node_modules" / ".herald-lock"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
        result = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR, capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed:\n{result.stdout}\n{result.stderr}")
        stamp.write_text(lock.read_text())
    return NODE_DIR


@pytest.fixture
def braze_node(node_clients, live_server):
    def run(script: str, key: str, **env: str) -> dict:
        result = subprocess.run(
            ["node", script], cwd=node_clients, capture_output=True, text=True, timeout=120,
            env={**os.environ, "HERALD_URL": live_server.url, "HERALD_KEY": key, **env},
        )
        if result.returncode != 0:
            pytest.fail(f"{script} failed:\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
