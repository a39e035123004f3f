"""Every input gets a clean answer at the API edge, never a 500 (issue 11, part 1).

Each class of hostile input has a test here, parametrized over every registered endpoint:
strings no database stores (a lone surrogate, a NUL) in bodies and query strings,
numbers Python cannot hold (NaN, Infinity, 1e400, integers past the int-string limit),
times in every ISO 8601 form Braze shows and impossible UTC offsets, bodies over the cap,
and unknown paths and methods. A Hypothesis strategy throws all of them at every field.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import config.urls  # noqa: F401  (registers every endpoint)
from config.api import REGISTRY
from messaging.models import Dispatch, Profile

pytestmark = pytest.mark.django_db

POSTS = sorted(path for path, method in REGISTRY if method == "POST")
GETS = sorted(path for path, method in REGISTRY if method == "GET")
HUGE_INT = "9" * 5000  # past sys.get_int_max_str_digits() (4,300)

# JSON text of each hostile string, as a client would send it (escapes, not raw bytes).
BAD_TEXT = {
    "lone surrogate": (r'"a\ud800b"', "lone surrogates"),
    "low surrogate": (r'"\udfff"', "lone surrogates"),
    "NUL": (r'"a\u0000b"', "NUL characters"),
}
# JSON text of each number Python cannot hold faithfully.
BAD_NUMBERS = {
    "NaN": ("NaN", "must be finite"),
    "Infinity": ("Infinity", "must be finite"),
    "-Infinity": ("-Infinity", "must be finite"),
    "1e400": ("1e400", "too large"),
    "-1e400": ("-1e400", "too large"),
    "huge integer": (HUGE_INT, "too large"),
}


def _field(path: str) -> str:
    """A field the endpoint's model declares (so the value sits where a real one would)."""
    model = REGISTRY[(path, "POST")].input_model
    return next(iter(model.model_json_schema()["properties"]))


def _post(api, path: str, raw: str):
    return api.post(path, raw)


def _assert_refused(response, location: str, words: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["message"] != "success"
    # A parameter a `prepare` turns into a list is named with its index (`external_id[0]`).
    assert any(e.startswith((f"{location}: ", f"{location}[")) and words in e
               for e in body["errors"]), body


# --- strings no database stores -------------------------------------------------------------


@pytest.mark.parametrize("kind", list(BAD_TEXT))
@pytest.mark.parametrize("path", POSTS)
def test_bad_text_in_any_body_is_a_400_naming_the_field(api, path, kind):
    text, words = BAD_TEXT[kind]
    field = _field(path)
    if path == "/users/track":
        return  # per object, below
    response = _post(api, path, f'{{"{field}": {{"nested": [1, {text}]}}}}')
    _assert_refused(response, f"{field}.nested[1]", words)
    response = _post(api, path, f'{{"{field}": {text}}}')
    _assert_refused(response, field, words)
    assert not Dispatch.objects.exists() and not Profile.objects.exists()


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_bad_text_in_a_key_is_a_400_naming_it_escaped(api, kind):
    text, words = BAD_TEXT[kind]
    response = _post(api, "/messages/send", f'{{"messages": {{{text}: 1}}}}')
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error.startswith("messages.") and words in error
    assert "\x00" not in error and not any(0xD800 <= ord(c) <= 0xDFFF for c in error)


@pytest.mark.parametrize("kind", list(BAD_TEXT))
def test_users_track_refuses_bad_text_per_object(api, kind):
    text, words = BAD_TEXT[kind]
    raw = ('{"attributes": [{"external_id": "bad", "first_name": TEXT},'
           ' {"external_id": "good"}],'
           ' "events": [{"external_id": TEXT, "name": "e", "time": "2024-01-01"}]}'
           ).replace("TEXT", text)
    response = _post(api, "/users/track", raw)
    assert response.status_code == 201
    body = response.json()
    assert [(e["input_array"], e["index"]) for e in body["errors"]] == [
        ("attributes", 0), ("events", 0)]
    assert all(words in e["type"] for e in body["errors"])
    assert list(Profile.objects.values_list("external_id", flat=True)) == ["good"]


@pytest.mark.parametrize("path", POSTS)
def test_valid_unicode_is_not_refused_as_bad_text(api, path):
    # A surrogate *pair* is one character (U+1F600): only lone halves are refused.
    raw = '{"' + _field(path) + r'": "caf\u00e9 \ud83d\ude00"}'
    response = _post(api, path, raw)
    assert response.status_code < 500
    assert "surrogate" not in response.content.decode()


# --- numbers Python cannot hold -----------------------------------------------------------


@pytest.mark.parametrize("kind", list(BAD_NUMBERS))
@pytest.mark.parametrize("path", POSTS)
def test_unholdable_numbers_are_a_400_naming_the_field(api, path, kind):
    number, words = BAD_NUMBERS[kind]
    field = _field(path)
    response = _post(api, path, f'{{"{field}": [{{"deep": {number}}}]}}')
    _assert_refused(response, f"{field}[0].deep", words)
    response = _post(api, path, f"[{number}]")
    _assert_refused(response, "body[0]", words)
    response = _post(api, path, number)
    _assert_refused(response, "body", words)


@pytest.mark.parametrize("kind", list(BAD_NUMBERS))
def test_unholdable_numbers_with_the_legacy_body_key_are_a_400(client, api_key, kind):
    number, words = BAD_NUMBERS[kind]
    raw = f'{{"api_key": "{api_key[1]}", "attributes": [{{"external_id": "x", "n": {number}}}]}}'
    response = client.post("/users/track", raw, content_type="application/json")
    _assert_refused(response, "attributes[0].n", words)


def test_large_but_holdable_numbers_still_pass_the_edge(api):
    raw = '{"attributes": [{"external_id": "n", "big": %s, "f": 1e300}]}' % ("9" * 4000)
    response = _post(api, "/users/track", raw)
    assert response.status_code == 201


# --- query strings ------------------------------------------------------------------------


@pytest.mark.parametrize("path", GETS)
def test_nul_in_any_query_parameter_is_a_400_naming_it(api, path):
    endpoint = REGISTRY[(path, "GET")]
    names = list(endpoint.query.model_json_schema()["properties"]) if endpoint.query else []
    for name in names or ["external_id"]:
        response = api.get(f"{path}?{name}=a%00b")
        if endpoint.query is None:  # no declared input: the view reads none of it
            assert response.status_code < 500
            continue
        _assert_refused(response, name, "NUL characters")


def test_content_card_feed_names_the_parameter(api):
    response = api.get("/content_cards/feed?external_id=a%00b")
    assert response.json() == {"message": "external_id: text must not contain NUL characters",
                               "errors": ["external_id: text must not contain NUL characters"]}


@pytest.mark.parametrize("path", GETS)
def test_invalid_utf8_in_a_query_string_never_500s(api, path):
    response = api.get(f"{path}?external_id=%ED%A0%80&campaign_id=%FF&q=%C0%80")
    assert response.status_code < 500


def test_a_query_error_names_the_parameter_not_the_body(api):
    response = api.get("/campaigns/list", {"last_edit.time[gt]": "not a time"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error.startswith("last_edit.time[gt]: ")


# --- times --------------------------------------------------------------------------------

BRAZE_TIMES = [
    "2020-06-28T23:59:59-5:00",  # Braze's own example: a one-digit hour offset
    "2020-06-28T23:59:59-05:00",
    "2020-06-28T23:59:59-0500",
    "2020-06-28T23:59:59-05",
    "2020-06-28T23:59:59+5",
    "2020-06-28T23:59:59Z",
    "2020-06-28T23:59:59z",
    "2020-06-28T23:59:59.123456+02:00",
    "2020-06-28T23:59:59,5Z",
    "2020-06-28T23:59Z",
    "2020-06-28 23:59:59",
    "2020-06-28T23:59:59",
    "20200628T235959Z",
    "2020-06-28",
    "2020-06-28T23:59:59+18:00",
    "2020-06-28T23:59:59-18:00",
]
BAD_OFFSETS = ["2020-01-01T00:00:00+21:18", "2020-01-01T00:00:00-18:01",
               "2020-01-01T00:00:00+23:59", "2020-01-01T00:00:00-19"]


def _time_requests(value: str, campaign_id: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/campaigns/list", {"last_edit.time[gt]": value}),
        ("/campaigns/data_series", {"campaign_id": campaign_id, "length": "1",
                                    "ending_at": value}),
        ("/sends/data_series", {"campaign_id": campaign_id, "length": "1", "send_id": "s",
                                "ending_at": value}),
    ]


@pytest.fixture
def campaign_id():
    from campaigns.models import Campaign

    return str(Campaign.objects.create(name="Times").api_id)


@pytest.mark.parametrize("value", BRAZE_TIMES)
def test_every_iso_8601_form_braze_shows_is_accepted(api, campaign_id, value):
    for path, params in _time_requests(value, campaign_id):
        response = api.get(path, params)
        assert response.status_code == 200, (path, response.content)


@pytest.mark.parametrize("value", BAD_OFFSETS)
def test_an_offset_beyond_18_hours_is_a_400_naming_the_parameter(api, campaign_id, value):
    for path, params in _time_requests(value, campaign_id):
        name = "last_edit.time[gt]" if path == "/campaigns/list" else "ending_at"
        response = api.get(path, params)
        _assert_refused(response, name, "UTC offset beyond ±18:00")


def test_a_one_digit_offset_filters_as_the_same_instant(api, campaign_id):
    from datetime import UTC, datetime

    from campaigns.models import Campaign

    Campaign.objects.update(updated_at=datetime(2020, 6, 29, 5, 30, tzinfo=UTC))
    listed = api.get("/campaigns/list", {"last_edit.time[gt]": "2020-06-28T23:59:59-5:00"})
    assert [c["id"] for c in listed.json()["campaigns"]] == [campaign_id]  # 04:59:59 UTC ...
    later = api.get("/campaigns/list", {"last_edit.time[gt]": "2020-06-29T01:30:00-4:00"})
    assert later.json()["campaigns"] == []  # ... and 05:30 UTC is not after itself


@pytest.mark.parametrize("field, value", [
    ("expire_at", "2020-01-01T00:00:00+21:18"),
    ("expire_at", "junk"),
])
def test_times_in_a_send_body_use_the_same_rules(api, field, value):
    body = {"external_user_ids": ["x"], "messages": {"content_card": {
        "type": "CLASSIC", "title": "t", "description": "d", field: value}}}
    response = api.post("/messages/send", body)
    assert response.status_code == 400
    assert any("expire_at" in e for e in response.json()["errors"])


def test_users_track_times_refuse_impossible_offsets_per_object(api):
    response = api.post("/users/track", {"events": [
        {"external_id": "t", "name": "e", "time": "2020-01-01T00:00:00+21:18"},
        {"external_id": "t", "name": "e", "time": "2020-01-01T00:00:00-5:00"}]})
    assert response.status_code == 201
    (error,) = response.json()["errors"]
    assert error["index"] == 0 and "offset" in error["type"]


# --- bodies over the cap, unknown paths and methods ---------------------------------------


@pytest.mark.parametrize("size", [2 * 1024 * 1024, int(2.5 * 1024 * 1024) + 1, 6 * 1024 * 1024])
@pytest.mark.parametrize("path", ["/users/track", "/messages/send"])
def test_a_body_over_the_cap_is_a_413_in_the_envelope_however_large(api, path, size):
    raw = '{"attributes": [{"external_id": "' + "x" * size + '"}]}'
    response = _post(api, path, raw)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["message"] == "Request body too large"


def test_a_body_over_djangos_own_limit_is_a_413_even_under_a_larger_cap(api, settings):
    settings.API_MAX_BODY_BYTES = 10 * 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = _post(api, "/users/track", '{"attributes": [{"external_id": "' + "x" * 4096 + '"}]}')
    assert response.status_code == 413
    assert response.json()["message"] == "Request body too large"


def test_a_body_over_the_cap_without_a_key_is_still_a_json_413(client):
    response = client.post("/users/track", "x" * (3 * 1024 * 1024),
                           content_type="application/json")
    assert response.status_code == 413 and response.json()["message"] == "Request body too large"


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/messages/nope", "/users/track/", "/v3/users/track", "/api/x"])
def test_unknown_api_paths_are_a_json_404(client, method, path):
    response = getattr(client, method)(path, headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
@pytest.mark.parametrize("path", ["/users/track", "/campaigns/list", "/messages/send"])
def test_unsupported_methods_are_a_json_405(api, client, method, path):
    response = getattr(client, method)(path, headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 405
    assert response.json()["message"] == "Method Not Allowed" and response["Allow"]


# --- Hypothesis: every hostile scalar in every field of every endpoint ---------------------


class Raw:
    """A JSON fragment `json.dumps` cannot write (a huge integer, Infinity)."""

    def __init__(self, text: str) -> None:
        self.text = text


def to_json(value) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)  # NaN, Infinity, -Infinity: Python writes them
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)  # escapes NUL and surrogates as \u0000, \ud800


hostile_text = st.text(
    alphabet=st.characters(codec=None, categories=None, min_codepoint=0,
                           max_codepoint=0x10FFFF),
    max_size=12,
) | st.sampled_from(["\x00", "\ud800", "a\udfffb", "\ud83d\ude00", "é", "", "2024-01-01"])
hostile_numbers = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(2**70), 2**70)
    | st.sampled_from([Raw("1e400"), Raw("-1e400"), Raw(HUGE_INT), Raw("-" + HUGE_INT),
                       Raw("1E999999"), Raw("0." + "0" * 5000 + "1")])
)
hostile_scalars = st.none() | st.booleans() | hostile_text | hostile_numbers


def _fields(path: str, method: str) -> list[str]:
    model = REGISTRY[(path, method)].input_model
    return list(model.model_json_schema().get("properties", {})) if model else []


ALL_FIELDS = sorted({f for path, method in REGISTRY for f in _fields(path, method)}
                    | {"external_id", "name", "time", "alert", "body", "properties"})
hostile_values = st.recursive(
    hostile_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(ALL_FIELDS) | hostile_text, children, max_size=3),
    max_leaves=12,
)
hostile_bodies = st.dictionaries(st.sampled_from(ALL_FIELDS) | hostile_text, hostile_values,
                                 max_size=5)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(POSTS), body=hostile_bodies)
def test_hostile_bodies_never_5xx(api, path, body):
    response = _post(api, path, to_json(body))
    assert response.status_code < 500, response.content
    assert isinstance(response.json()["message"], str)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(GETS),
       params=st.dictionaries(st.sampled_from(ALL_FIELDS + ["last_edit.time[gt]"]),
                              hostile_text.filter(lambda t: not any(
                                  0xD800 <= ord(c) <= 0xDFFF for c in t)), max_size=4))
def test_hostile_query_strings_never_5xx(api, path, params):
    response = api.get(path, params)
    assert response.status_code < 500, response.content
    assert isinstance(response.json()["message"], str)
