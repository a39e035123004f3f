import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_login_page_uses_the_app_layout():
    body = Client().get("/login/").content.decode()
    assert "Log in to Herald" in body and "herald.css" in body
    assert 'for="id_username"' in body and 'autocomplete="current-password"' in body
    assert 'aria-label="Main"' not in body  # no navigation before login


def test_wrong_password_shows_error_in_place(marketer):
    response = Client().post("/login/", {"username": "marketer", "password": "nope"})
    body = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in body and 'aria-invalid="true"' in body


def test_login_then_logout(marketer):
    client = Client()
    response = client.post("/login/", {"username": "marketer", "password": "correct horse battery"})
    assert response["Location"] == "/messaging/campaigns/"
    response = client.post("/logout/", {"next": "/login/?logged_out=1"}, follow=True)
    assert "You are logged out." in response.content.decode()
    assert client.get("/messaging/campaigns/").status_code == 302


def test_admin_link_only_for_staff(marketer_client, marketer):
    assert "/admin/" not in marketer_client.get("/messaging/campaigns/").content.decode()
    marketer.is_staff = True
    marketer.save()
    assert 'href="/admin/"' in marketer_client.get("/messaging/campaigns/").content.decode()
