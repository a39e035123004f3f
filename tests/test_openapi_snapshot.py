"""The OpenAPI document is the wire contract: it changes only on purpose.

`tests/snapshots/openapi.json` is the document as committed. A refactor that changes it
by accident fails here; a deliberate change rewrites the snapshot in the same commit:

    HERALD_UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/test_openapi_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def test_openapi_document_matches_the_committed_snapshot(client):
    document = client.get("/api/openapi.json").json()
    if os.environ.get("HERALD_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    assert document == json.loads(SNAPSHOT.read_text())
