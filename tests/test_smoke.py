import pytest


@pytest.mark.django_db
def test_dashboard_requires_login(client):
    response = client.get("/messaging/campaigns/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_unknown_api_key_gets_braze_401(db, client):
    response = client.post("/messages/send", "{}", content_type="application/json",
                           headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    # Not a Herald key: nothing of it is echoed (a refusal names a key by its prefix only).
    assert response.json() == {"message": "Invalid API key"}
    # Braze answers its 401s with the rate-limit headers present but empty (spec §2.5).
    assert response["X-RateLimit-Limit"] == ""
