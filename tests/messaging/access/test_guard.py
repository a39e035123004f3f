"""The guard around any endpoint: input validated once before the view, the idempotency
option, domain errors answered from the one table, declarations checked at import time.

Endpoints here are tiny ones declared for the test and kept out of the registry, so the
OpenAPI document does not change.
"""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest
from django.db import transaction
from django.test import RequestFactory

import config.urls  # noqa: F401  (registers the endpoints and the domain error table)
from campaigns.errors import UnknownCampaign
from config.api import (
    REGISTRY,
    ApiError,
    DomainError,
    Endpoint,
    api_error,
    api_response,
    endpoint,
)
from config.api.domain_errors import answer_for
from messaging.access.guard import guard
from messaging.models import IdempotencyRecord, Profile

PATH = "/test/tiny"
ROOT = Path(__file__).resolve().parents[3]


class TinyBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(min_length=1)
    count: int = 1


class TinyQuery(pydantic.BaseModel):
    name: str


def declare(view, **options) -> Endpoint:
    """Declare an endpoint the way an app does, then take it back out of the registry."""
    options.setdefault("permission", "users.track")
    options.setdefault("summary", "tiny")
    method = options.get("method", "POST")
    endpoint(PATH, **options)(view)
    return REGISTRY.pop((PATH, method))


def post(api_key, data, **headers):
    return RequestFactory().post(
        PATH, json.dumps(data), content_type="application/json",
        headers={"Authorization": f"Bearer {api_key[1]}", **headers},
    )


@pytest.fixture
def key(make_api_key):
    return make_api_key(permissions=["users.track"])


# --- input validated once, before the view ------------------------------------------------


@pytest.mark.django_db
def test_the_guard_refuses_a_body_the_declared_model_refuses_before_the_view_runs(key):
    calls = []

    def view(request, body: TinyBody):
        calls.append(body)
        return api_response(status=201)

    serve = guard({"POST": declare(view, body=TinyBody)})
    response = serve(post(key, {"name": "", "colour": "red"}))
    assert response.status_code == 400
    assert json.loads(response.content) == {"message": "Bad Request", "errors": [
        "name: String should have at least 1 character",
        "colour: Extra inputs are not permitted",
    ]}
    assert calls == []
    assert response["X-RateLimit-Limit"]  # refusals still carry the key's window


@pytest.mark.django_db
def test_the_view_gets_the_validated_body_or_query(key):
    seen = []

    def post_view(request, body: TinyBody):
        seen.append(body)
        return api_response(status=201)

    def get_view(request, query: TinyQuery):
        seen.append(query)
        return api_response()

    serve = guard({"POST": declare(post_view, body=TinyBody),
                   "GET": declare(get_view, method="GET", query=TinyQuery)})
    assert serve(post(key, {"name": "a", "count": "3"})).status_code == 201
    get = RequestFactory().get(PATH, {"name": ["first", "last"]},
                               headers={"Authorization": f"Bearer {key[1]}"})
    assert serve(get).status_code == 200
    assert seen == [TinyBody(name="a", count=3), TinyQuery(name="last")]


@pytest.mark.django_db
def test_prepare_runs_before_the_text_check_and_the_model(key):
    def refuse_colours(data):
        if "colour" in data:
            raise ApiError(400, "No Colours", ["colour: not here"])
        return {**data, "count": 2}

    def view(request, body: TinyBody):
        return api_response({"count": body.count}, status=201)

    serve = guard({"POST": declare(view, body=TinyBody, prepare=refuse_colours)})
    refused = serve(post(key, {"name": "a\x00", "colour": "red"}))
    assert json.loads(refused.content)["message"] == "No Colours"
    nul = serve(post(key, {"name": "a\x00"}))
    assert json.loads(nul.content)["errors"] == ["name: text must not contain NUL characters"]
    assert json.loads(serve(post(key, {"name": "a"})).content)["count"] == 2


# --- domain errors ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_domain_error_from_a_view_is_answered_from_the_table(key):
    def view(request, body: TinyBody):
        raise UnknownCampaign(f"campaign_id: no campaign {body.name!r}")

    serve = guard({"POST": declare(view, body=TinyBody)})
    response = serve(post(key, {"name": "nope"}))
    assert response.status_code == 400
    assert json.loads(response.content) == {
        "message": "Invalid Campaign ID", "errors": ["campaign_id: no campaign 'nope'"]}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_domain_error_of_the_apps_has_an_answer():
    missing = [cls.__qualname__ for cls in _subclasses(DomainError)
               if cls.__module__.split(".")[0] in ("campaigns", "analytics", "messaging")
               and answer_for(cls) is None]
    assert missing == []


def test_an_unlisted_domain_error_is_a_bug_not_a_silent_answer():
    class Forgotten(DomainError):
        pass

    with pytest.raises(LookupError, match="Forgotten"):
        api_error(Forgotten("x: y"))


def test_services_speak_no_http():
    services = [*ROOT.glob("messaging/services/*.py"), ROOT / "analytics/services.py",
                ROOT / "campaigns/services.py"]
    for path in services:
        source = path.read_text()
        for word in ("ApiError", "django.http", "JsonResponse", "config.api.envelope"):
            assert word not in source, f"{path.relative_to(ROOT)} mentions {word}"


# --- the idempotency option --------------------------------------------------------------------


def _profile_maker(calls):
    def view(request, body: TinyBody):
        calls.append(body.name)
        profile = Profile.objects.create(external_id=f"{body.name}-{len(calls)}")
        return api_response({"profile": profile.external_id}, status=201)

    return view


@pytest.mark.django_db
def test_idempotency_is_an_option_of_any_post_endpoint(key):
    calls = []
    serve = guard({"POST": declare(_profile_maker(calls), body=TinyBody, idempotent=True)})
    first = serve(post(key, {"name": "ann"}, **{"Idempotency-Key": "k1"}))
    again = serve(post(key, {"name": "ann"}, **{"Idempotency-Key": "k1"}))
    assert first.status_code == again.status_code == 201
    assert json.loads(again.content) == json.loads(first.content) == {
        "message": "success", "profile": "ann-1"}
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert calls == ["ann"] and Profile.objects.count() == 1

    other = serve(post(key, {"name": "bob"}, **{"Idempotency-Key": "k1"}))
    assert other.status_code == 422
    assert json.loads(other.content)["message"] == (
        "Idempotency-Key reused with a different request body")
    assert calls == ["ann"]

    # Without a key, or with another one, the view runs again.
    assert serve(post(key, {"name": "ann"})).status_code == 201
    assert serve(post(key, {"name": "ann"}, **{"Idempotency-Key": "k2"})).status_code == 201
    assert calls == ["ann", "ann", "ann"]


@pytest.mark.django_db
def test_a_refused_request_leaves_no_record_and_no_work(key):
    def view(request, body: TinyBody):
        Profile.objects.create(external_id="half-done")
        raise UnknownCampaign("campaign_id: gone")

    serve = guard({"POST": declare(view, body=TinyBody, idempotent=True)})
    response = serve(post(key, {"name": "a"}, **{"Idempotency-Key": "k"}))
    assert response.status_code == 400
    assert not Profile.objects.exists()  # rolled back with the transaction
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_malformed_idempotency_key_is_a_400(key):
    serve = guard({"POST": declare(_profile_maker([]), body=TinyBody, idempotent=True)})
    response = serve(post(key, {"name": "a"}, **{"Idempotency-Key": "é" * 3}))
    assert response.status_code == 400
    assert json.loads(response.content)["errors"] == [
        "Idempotency-Key: 1 to 255 printable ASCII characters"]


@pytest.mark.django_db
def test_an_idempotency_key_with_a_control_character_is_a_400(key):
    # The OpenAPI document says printable ASCII; the fuzzing gate holds the code to it.
    serve = guard({"POST": declare(_profile_maker([]), body=TinyBody, idempotent=True)})
    response = serve(post(key, {"name": "a"}, **{"Idempotency-Key": "a\x7fb"}))
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_work_enqueued_on_commit_starts_after_the_record_is_committed(key):
    seen = []

    def view(request, body: TinyBody):
        Profile.objects.create(external_id=body.name)
        # What a worker would find when the enqueued task starts.
        transaction.on_commit(lambda: seen.append(
            (Profile.objects.filter(external_id=body.name).exists(),
             IdempotencyRecord.objects.filter(key="k").exists())))
        assert seen == []  # not before the commit
        return api_response(status=201)

    serve = guard({"POST": declare(view, body=TinyBody, idempotent=True)})
    assert serve(post(key, {"name": "ann"}, **{"Idempotency-Key": "k"})).status_code == 201
    assert seen == [(True, True)]


# --- declarations are checked when they are made ------------------------------------------------


@pytest.mark.parametrize("view, options, problem", [
    (lambda request: None, {"body": TinyBody}, "must take (request, body)"),
    (lambda request, body: None, {}, "must take (request)"),
    (lambda request, query: None, {"method": "GET", "query": TinyQuery, "idempotent": True},
     "idempotency needs a POST"),
    (lambda request: None, {"method": "GET", "body": TinyBody}, "only a POST has a body"),
    (lambda request: None, {"prepare": dict}, "need body= or query="),
    (lambda request, body: None, {"body": TinyBody, "text_per_object": True},
     "text_per_object needs a parse"),
])
def test_a_declaration_the_guard_cannot_honour_fails_at_import(view, options, problem):
    with pytest.raises(TypeError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        endpoint(PATH, permission="users.track", summary="tiny", **options)(view)
    assert (PATH, options.get("method", "POST")) not in REGISTRY
