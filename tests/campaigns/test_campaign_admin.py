import pytest
from django.urls import reverse

from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(user)
    return client


def test_every_campaigns_model_has_a_working_changelist(staff_client, make_campaign):
    make_campaign(channels=("email", "sms"), conversions=[("Starts Session", {})], tags=["t"])
    for model in ("campaign", "messagevariation", "conversionevent", "tag"):
        response = staff_client.get(reverse(f"admin:campaigns_{model}_changelist"))
        assert response.status_code == 200, model


def test_campaign_change_page_shows_inlines_and_readonly_ids(staff_client, make_campaign):
    campaign = make_campaign(channels=("email",))
    body = staff_client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert str(campaign.api_id) in body and 'name="api_id"' not in body
    assert str(campaign.variations.get().api_id) in body
    assert "conversion_events-TOTAL_FORMS" in body


def test_search_by_campaign_id_or_name_never_errors(staff_client, make_campaign):
    wanted = make_campaign(name="Wanted")
    make_campaign(name="Other")
    url = reverse("admin:campaigns_campaign_changelist")
    body = staff_client.get(url, {"q": str(wanted.api_id)}).content.decode()
    assert "Wanted" in body and ">Other<" not in body
    assert staff_client.get(url, {"q": "not-a-uuid"}).status_code == 200
    variation = wanted.variations.get()
    body = staff_client.get(
        reverse("admin:campaigns_messagevariation_changelist"), {"q": str(variation.api_id)}
    ).content.decode()
    assert "1 message variation" in body


def test_archive_action_goes_through_the_service(staff_client, make_campaign):
    campaign = make_campaign()
    staff_client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "archive", "_selected_action": [campaign.pk]},
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ARCHIVED and campaign.updated_by.username == "root"


def test_marketer_cannot_open_admin(marketer_client):
    response = marketer_client.get(reverse("admin:campaigns_campaign_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
