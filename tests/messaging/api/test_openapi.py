"""The OpenAPI document is valid 3.1, covers the registry, and feeds the reference page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from openapi_spec_validator import validate

import config.urls  # noqa: F401
from config.api import REGISTRY


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_document_validates_as_openapi_31(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_registered_endpoint_is_documented(document):
    for (path, method), endpoint in REGISTRY.items():
        operation = document["paths"][path][method.lower()]
        assert operation["summary"] == endpoint.summary
        assert str(endpoint.success_status) in operation["responses"]
        if endpoint.permission:
            assert operation["x-permission"] == endpoint.permission
            assert operation["security"] == [{"bearerAuth": []}]
            assert operation["responses"]["403"]["content"]["application/json"]["example"][
                "message"] == "Access Denied"
        if endpoint.body is not None:
            assert "requestBody" in operation
        if endpoint.query is not None:
            names = {p["name"] for p in operation["parameters"]}
            assert names == {f.alias or n for n, f in endpoint.query.model_fields.items()}
        assert "X-RateLimit-Limit" in operation["responses"]["429"]["headers"]
        assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_users_track_body_documents_fields_from_the_validating_models(document):
    schemas = document["components"]["schemas"]
    body_ref = document["paths"]["/users/track"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["$ref"]
    body = schemas[body_ref.rsplit("/", 1)[-1]]
    assert set(body["properties"]) == {"attributes", "events", "purchases"}
    assert body["properties"]["events"]["anyOf"][0]["maxItems"] == 75
    event = schemas["TrackEvent"]
    assert {"name", "time"} <= set(event["required"])
    assert "_update_existing_only" in event["properties"]
    assert schemas["TrackAttributes"]["additionalProperties"] is True  # custom attributes
    purchase = schemas["TrackPurchase"]
    assert purchase["properties"]["quantity"]["maximum"] == 100


def test_email_unsubscribes_documents_query_parameters(document):
    parameters = {p["name"]: p for p in
                  document["paths"]["/email/unsubscribes"]["get"]["parameters"]}
    assert parameters["end_date"]["required"] is True
    assert parameters["limit"]["schema"]["maximum"] == 500


@pytest.mark.django_db
def test_reference_page_renders_every_endpoint(marketer_client, document):
    response = marketer_client.get(reverse("messaging:api-reference"))
    assert response.status_code == 200
    html = response.content.decode()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            assert f"<code>{path}</code>" in html
            if operation.get("x-permission"):
                assert f'<code class="perm">{operation["x-permission"]}</code>' in html
    # Field tables: names, types, requiredness, and nested objects.
    assert "<code>_update_existing_only</code>" in html
    assert "<code>TrackPurchase</code>" in html
    assert "&quot;Access Denied&quot;" in html
    assert "Any other key is accepted (custom attributes)." in html


@pytest.mark.django_db
def test_reference_page_needs_login(client):
    assert client.get(reverse("messaging:api-reference")).status_code == 302
