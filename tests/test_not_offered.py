"""Braze features Herald does not offer answer a JSON 404 that says so."""

from __future__ import annotations

import pytest

from config.api.not_offered import NOT_OFFERED


@pytest.mark.parametrize("method, path", [
    ("get", "/canvas/list"), ("get", "/canvas/data_series?canvas_id=x"),
    ("post", "/canvas/trigger/send"), ("get", "/catalogs"), ("post", "/catalogs/shoes/items"),
    ("post", "/cdi/integrations"), ("get", "/preference_center/v1/list"),
])
def test_not_offered_features_answer_a_404_naming_them(client, method, path):
    response = getattr(client, method)(path, headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    message = response.json()["message"]
    assert message.startswith("Herald does not offer Braze's ")
    assert NOT_OFFERED[path.strip("/").split("/")[0].split("?")[0]] in message
    assert set(response.json()) == {"message"}  # Braze's 404: no `errors` array


def test_other_unknown_paths_keep_the_plain_404(client):
    response = client.get("/canvasses/list")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_the_readme_lists_every_feature(settings):
    readme = (settings.BASE_DIR / "README.md").read_text()
    for prefix, feature in NOT_OFFERED.items():
        assert f"| {feature} | `/{prefix}/…` |" in readme
