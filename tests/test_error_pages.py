import pytest


@pytest.mark.django_db
def test_unknown_api_path_answers_braze_envelope(client):
    response = client.post("/messages/nope", "{}", content_type="application/json",
                           headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.django_db
def test_unknown_page_answers_html_to_browsers(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 404
    assert b"Page not found" in response.content
