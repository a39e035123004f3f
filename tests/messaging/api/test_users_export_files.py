"""/users/export/segment and /users/export/global_control_group: a file behind a signed URL."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from analytics.models import Segment, SegmentMember
from messaging.models import Profile, UserAlias, UserExport
from tests.fakes.hosts import HttpHost

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def segment():
    segment = Segment.objects.create(name="Buyers", size=2)
    for external_id in ("ann", "bob"):
        profile = Profile.objects.create(external_id=external_id,
                                         email=f"{external_id}@example.test")
        SegmentMember.objects.create(segment=segment, profile=profile)
    Profile.objects.create(external_id="outsider")
    return segment


def _download(client, url):
    path = url.split("://", 1)[1].split("/", 1)[1]
    return client.get("/" + path)


def _lines(data: bytes, output_format: str) -> list[dict]:
    if output_format == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            (name,) = archive.namelist()
            data = archive.read(name)
    else:
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.decode().splitlines()]


@pytest.mark.parametrize("output_format", ["zip", "gzip"])
def test_segment_export_writes_the_members_to_a_signed_file(
    api, client, segment, output_format, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/users/export/segment", {
            "segment_id": segment.segment_id, "fields_to_export": ["external_id", "email"],
            "output_format": output_format})
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["message"] == "success" and len(answer["object_prefix"]) == 32
    assert answer["url"].startswith("http://testserver/exports/users/")
    download = _download(client, answer["url"])
    assert download.status_code == 200
    users = _lines(b"".join(download.streaming_content), output_format)
    assert users == [{"external_id": "ann", "email": "ann@example.test"},
                     {"external_id": "bob", "email": "bob@example.test"}]
    assert UserExport.objects.get().users == 2


def test_the_url_answers_404_until_written_when_tampered_and_once_expired(
    api, client, segment, settings, django_capture_on_commit_callbacks
):
    response = api.post("/users/export/segment", {  # on-commit not run: not written yet
        "segment_id": segment.segment_id, "fields_to_export": ["external_id"]})
    url = response.json()["url"]
    pending = _download(client, url)
    assert pending.status_code == 404 and pending.json() == {
        "message": "The export is not ready yet"}
    assert _download(client, url[:-3] + "abc").status_code == 404
    settings.EXPORT_URL_MAX_AGE = -1
    assert _download(client, url).json() == {
        "message": "This export URL is unknown or has expired"}


def test_callback_endpoint_is_posted_when_the_file_is_ready(
    api, segment, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with HttpHost() as host, django_capture_on_commit_callbacks(execute=True):
        response = api.post("/users/export/segment", {
            "segment_id": segment.segment_id, "fields_to_export": ["braze_id"],
            "callback_endpoint": f"{host.url}/done"})
    (received,) = host.received
    body = json.loads(received.body)
    assert received.method == "POST" and received.path == "/done"
    assert body["success"] is True and body["url"] == response.json()["url"]


def test_callback_to_a_private_address_is_refused_but_the_file_is_written(
    api, segment, django_capture_on_commit_callbacks
):
    with HttpHost() as host, django_capture_on_commit_callbacks(execute=True):
        api.post("/users/export/segment", {
            "segment_id": segment.segment_id, "fields_to_export": ["braze_id"],
            "callback_endpoint": f"{host.url}/done"})
    assert host.received == []  # the SSRF guard: loopback is not allowed by default
    assert UserExport.objects.get().status == UserExport.Status.DONE


@pytest.mark.parametrize("body, status", [
    ({"fields_to_export": ["email"]}, 400),
    ({"segment_id": "nope", "fields_to_export": ["email"]}, 400),
    ({"segment_id": "S", "fields_to_export": []}, 400),
    ({"segment_id": "S", "fields_to_export": ["shoe_size"]}, 400),
    ({"segment_id": "S", "fields_to_export": ["email"], "output_format": "csv"}, 400),
    ({"segment_id": "S", "fields_to_export": ["email"], "callback_endpoint": "0000"}, 400),
    ({"segment_id": "S", "fields_to_export": ["email"], "callback_endpoint": "ftp://x.co/"},
     400),
    ({"segment_id": "S", "fields_to_export": ["email"], "callback_endpoint": "http://x:y/"},
     400),
])
def test_segment_export_invalid(api, segment, body, status):
    if body.get("segment_id") == "S":
        body["segment_id"] = segment.segment_id
    response = api.post("/users/export/segment", body)
    assert response.status_code == status
    assert not UserExport.objects.exists()


def test_unknown_segment_has_braze_text(api):
    response = api.post("/users/export/segment", {"segment_id": "nope",
                                                  "fields_to_export": ["email"]})
    assert response.json()["message"] == "Invalid segment_id"


def test_global_control_group_export(api, client, django_capture_on_commit_callbacks):
    member = Profile.objects.create(external_id="held", in_global_control_group=True)
    UserAlias.objects.create(profile=member, alias_label="crm", alias_name="h-1")
    Profile.objects.create(external_id="regular")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/users/export/global_control_group", {
            "fields_to_export": ["external_id", "user_aliases"]})
    assert response.status_code == 201, response.content
    download = _download(client, response.json()["url"])
    assert _lines(b"".join(download.streaming_content), "zip") == [
        {"external_id": "held", "user_aliases": [{"alias_name": "h-1", "alias_label": "crm"}]}]
    refused = api.post("/users/export/global_control_group", {"fields_to_export": ["dob"]})
    assert refused.status_code == 400
