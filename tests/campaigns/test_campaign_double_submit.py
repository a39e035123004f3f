"""A create form posted twice (double click without JavaScript) makes one campaign."""

import re
import threading

import pytest
from django.core.cache import cache
from django.test import Client

from campaigns.forms import form_token_claim_key
from campaigns.models import Campaign
from tests.campaigns.conftest import editor_post

pytestmark = pytest.mark.django_db
CREATE = "/messaging/campaigns/new/api/"


def _token(client) -> str:
    body = client.get(CREATE).content.decode()
    match = re.search(r'name="form_token" value="([^"]+)"', body)
    assert match, "the create form carries a one-time token"
    return match.group(1)


def test_second_post_of_the_same_form_redirects_to_the_first_campaign(marketer_client):
    data = editor_post("Order shipped", messages=[("email", "Variant 1")], save="1")
    data["form_token"] = _token(marketer_client)
    first = marketer_client.post(CREATE, data)
    campaign = Campaign.objects.get()
    assert first.status_code == 302 and first["Location"] == campaign.get_absolute_url()
    second = marketer_client.post(CREATE, data, follow=True)
    assert Campaign.objects.count() == 1
    assert second.redirect_chain[-1][0] == campaign.get_absolute_url()
    assert "no second campaign was created" in second.content.decode()


def test_each_rendered_form_has_its_own_token(marketer_client):
    one, two = _token(marketer_client), _token(marketer_client)
    assert one != two
    for token, name in [(one, "First"), (two, "Second")]:
        marketer_client.post(CREATE, editor_post(name, save="1") | {"form_token": token})
    assert sorted(Campaign.objects.values_list("name", flat=True)) == ["First", "Second"]


def test_a_refused_save_keeps_the_token_usable(marketer_client):
    token = _token(marketer_client)
    bad = marketer_client.post(CREATE, editor_post("", save="1") | {"form_token": token})
    assert bad.status_code == 200 and not Campaign.objects.exists()
    assert f'value="{token}"' in bad.content.decode()  # the corrected form is the same form
    marketer_client.post(CREATE, editor_post("Fixed", save="1") | {"form_token": token})
    assert Campaign.objects.get().name == "Fixed"


def test_adding_a_row_without_javascript_keeps_the_token(marketer_client):
    token = _token(marketer_client)
    body = marketer_client.post(
        CREATE, editor_post("X", add_message="email") | {"form_token": token}
    ).content.decode()
    assert f'name="form_token" value="{token}"' in body


def test_a_post_racing_the_first_waits_for_it_instead_of_creating(marketer_client, make_campaign):
    """The first post holds the claim while it saves; the second must not create another."""
    token = _token(marketer_client)
    key = form_token_claim_key(marketer_client.session, token)
    assert cache.add(key, "", 60)  # the first post's claim, taken before its save finished
    created = make_campaign(name="Created by the first post")
    timer = threading.Timer(0.3, lambda: cache.set(key, str(created.api_id), 60))
    timer.start()
    try:
        response = marketer_client.post(
            CREATE, editor_post("Order shipped", save="1") | {"form_token": token}
        )
    finally:
        timer.cancel()
    assert response.status_code == 302
    assert response["Location"] == created.get_absolute_url()
    assert Campaign.objects.count() == 1


def test_a_token_from_another_session_is_not_honoured(marketer_client, marketer):
    token = _token(marketer_client)
    marketer_client.post(CREATE, editor_post("Mine", save="1") | {"form_token": token})
    client = Client()
    client.force_login(marketer)  # another session of the same user
    client.post(CREATE, editor_post("Other tab", save="1") | {"form_token": token})
    assert Campaign.objects.count() == 2
