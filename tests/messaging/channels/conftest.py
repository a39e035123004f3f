"""What the channel tests share: the process-wide HTTP client, as the registry builds it."""

from __future__ import annotations

import pytest

from messaging.channels import http


@pytest.fixture
def http_client():
    client = http.build_client()
    yield client
    http.close_client(client)
