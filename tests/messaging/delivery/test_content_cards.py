"""Content cards: stored per profile by a send, read from the feed by server code and by apps."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import ContentCard
from messaging.services.content_cards import content_card_create

pytestmark = pytest.mark.django_db
SECRET = "customer-backend-secret-of-at-least-64-bytes-for-hs256-and-hs512!!"

CARD = {
    "type": "CAPTIONED_IMAGE",
    "title": "Hi {{${first_name}}}",
    "description": "{{custom_attribute.${tier}}} offer",
    "image_url": "https://cdn.acme.test/a.png",
    "time_to_live": 3600,
    "pinned": True,
    "web_uri": "https://acme.test/offer",
    "uri_text": "See it",
    "extra": {"offer": "spring"},
}


@pytest.fixture
def sent_card(api, make_profile, campaign, variation, django_capture_on_commit_callbacks):
    make_profile(external_id="ada", first_name="Ada", custom_attributes={"tier": "Gold"})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/messages/send",
            {
                "campaign_id": campaign.campaign_id,
                "external_user_ids": ["ada"],
                "messages": {
                    "content_card": {**CARD, "message_variation_id": variation("content_card")}
                },
            },
        )
    assert response.status_code == 201
    return ContentCard.objects.get()


def _token(sub="ada", exp_in=300, secret=SECRET):
    return jwt.encode({"sub": sub, "exp": int(time.time()) + exp_in}, secret, algorithm="HS256")


def test_send_stores_a_rendered_card_with_variation_expiry_and_extras(sent_card, variation):
    assert sent_card.profile.external_id == "ada"
    assert (sent_card.title, sent_card.description) == ("Hi Ada", "Gold offer")
    assert sent_card.variation.message_variation_id == variation("content_card")
    assert sent_card.extras == {"offer": "spring"}
    assert sent_card.url == "https://acme.test/offer" and sent_card.pinned
    remaining = sent_card.expires_at - timezone.now()
    assert timedelta(minutes=55) < remaining <= timedelta(hours=1)


def test_feed_with_a_rest_key(api, sent_card, variation):
    response = api.get("/content_cards/feed", {"external_id": "ada"})
    assert response.status_code == 200
    (card,) = response.json()["cards"]
    assert card["id"] == sent_card.card_id
    assert card["title"] == "Hi Ada" and card["extra"] == {"offer": "spring"}
    assert card["message_variation_id"] == variation("content_card")


def test_feed_hides_expired_and_dismissed_cards(api, sent_card):
    ContentCard.objects.create(
        profile=sent_card.profile, title="old", expires_at=timezone.now() - timedelta(seconds=1)
    )
    ContentCard.objects.create(
        profile=sent_card.profile, title="dismissed", dismissed_at=timezone.now()
    )
    titles = [
        c["title"] for c in api.get("/content_cards/feed", {"external_id": "ada"}).json()["cards"]
    ]
    assert titles == ["Hi Ada"]


def test_feed_refuses_keys_without_the_permission_and_unknown_users(api, make_api_key, sent_card):
    _, key = make_api_key(permissions=["messages.send"])
    assert api.get("/content_cards/feed", {"external_id": "ada"}, key=key).status_code == 403
    assert api.get("/content_cards/feed", {"external_id": "ghost"}).status_code == 404
    assert api.get("/content_cards/feed").status_code == 400


def test_app_reads_its_own_feed_with_a_signed_token(client, settings, sent_card):
    settings.CONTENT_CARD_JWT_SECRET = SECRET
    response = client.get(
        "/content_cards/sdk/feed", headers={"Authorization": f"Bearer {_token()}"}
    )
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["cards"]] == [sent_card.card_id]


@pytest.mark.parametrize(
    "token",
    [
        lambda: _token(secret="wrong-secret-of-at-least-32-bytes-long"),
        lambda: _token(exp_in=-10),
        lambda: jwt.encode({"sub": "ada"}, SECRET, algorithm="HS256"),  # no exp
        lambda: jwt.encode({"sub": "ada", "exp": int(time.time()) + 60}, SECRET, algorithm="HS512"),
        lambda: "not.a.token",
    ],
)
def test_app_tokens_must_be_valid(client, settings, sent_card, token):
    settings.CONTENT_CARD_JWT_SECRET = SECRET
    response = client.get("/content_cards/sdk/feed", headers={"Authorization": f"Bearer {token()}"})
    assert response.status_code == 401
    assert response.json()["message"] == "Unauthorized"


def test_app_feed_is_off_without_a_secret(client, settings, sent_card):
    settings.CONTENT_CARD_JWT_SECRET = ""
    response = client.get(
        "/content_cards/sdk/feed", headers={"Authorization": f"Bearer {_token()}"}
    )
    assert response.status_code == 401


def test_a_token_reads_only_its_own_profile(client, settings, sent_card, make_profile):
    settings.CONTENT_CARD_JWT_SECRET = SECRET
    make_profile(external_id="bob")
    response = client.get(
        "/content_cards/sdk/feed?external_id=ada",
        headers={"Authorization": f"Bearer {_token(sub='bob')}"},
    )
    assert response.status_code == 200 and response.json()["cards"] == []
    assert response.json()["external_id"] == "bob"


def test_retried_delivery_does_not_add_a_second_card(sent_card):
    again = content_card_create(message_id=sent_card.delivery.message_id, payload={"title": "dup"})
    assert again.pk == sent_card.pk and ContentCard.objects.count() == 1


def test_the_card_shows_on_the_profile_page(marketer_client, sent_card):
    page = marketer_client.get(
        reverse("messaging:profile-detail", args=[sent_card.profile.braze_id])
    )
    assert page.status_code == 200
    assert "Hi Ada" in page.content.decode()
