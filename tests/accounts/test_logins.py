"""Logins: throttled per account and per address, TOTP two-factor, and the upgrade path."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]


def _login(username, password=PASSWORD, address="198.51.100.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def test_an_account_is_locked_after_repeated_failures_from_anywhere(make_user, settings):
    make_user("ada", role="Viewer")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login("ada", "wrong", address=f"198.51.100.{attempt + 10}")
    _, response = _login("ada", address="203.0.113.5")  # right password, new address
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not AuditEntry.objects.filter(action="login.succeeded", actor_name="ada").exists()
    assert AuditEntry.objects.filter(action="login.failed", actor_name="ada").count() >= 5


def test_an_address_is_locked_after_failures_across_accounts(make_user, settings):
    make_user("bo", role="Viewer")
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(f"guess{attempt}", "wrong", address="192.0.2.77")
    _, refused = _login("bo", address="192.0.2.77")
    assert refused.status_code == 429
    _, elsewhere = _login("bo", address="192.0.2.78")  # the account itself is not locked
    assert elsewhere.status_code == 302


def test_a_good_login_resets_the_count(make_user, settings):
    make_user("cy", role="Viewer")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login("cy", "wrong")
    assert _login("cy")[1].status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login("cy", "wrong")
    assert _login("cy")[1].status_code == 302


def _enrol(client) -> TOTPDevice:
    page = client.get(reverse("accounts:two-factor-setup"))
    assert page.status_code == 200 and b"otpauth://" in page.content
    device = TOTPDevice.objects.get(confirmed=False)
    client.post(reverse("accounts:two-factor-setup"), {"token": f"{totp(device.bin_key):06d}"})
    device.refresh_from_db()
    return device


def test_two_factor_is_asked_after_the_password_once_turned_on(make_user):
    make_user("dee", role="Marketer")
    client, _ = _login("dee")
    device = _enrol(client)
    assert device.confirmed
    assert AuditEntry.objects.filter(action="two_factor.enabled").count() == 1

    client, response = _login("dee")
    held = client.get(reverse("campaigns:list"))
    assert held.status_code == 302 and held["Location"].startswith(
        reverse("accounts:two-factor-verify")
    )
    wrong = client.post(held["Location"], {"token": "000000"})
    assert b"not right" in wrong.content
    assert client.get(reverse("campaigns:list")).status_code == 302
    # django-otp refuses a code used before and, after a wrong one, any code for a moment
    # (throttling): reset both, as a second's wait and the next code would.
    device.refresh_from_db()
    device.last_t = -1
    device.throttle_reset(commit=False)
    device.save()
    done = client.post(held["Location"], {"token": f"{totp(device.bin_key):06d}"})
    assert done.status_code == 302 and done["Location"] == reverse("campaigns:list")
    assert client.get(reverse("campaigns:list")).status_code == 200


def test_admins_can_require_two_factor_for_everyone(client, make_user):
    admin = make_user("boss", role="Admin")
    make_user("eve", role="Viewer")
    client.force_login(admin)
    client.post(reverse("accounts:team"), {"require_two_factor": "1"})
    assert AuditEntry.objects.filter(action="security_policy.changed").count() == 1

    member, _ = _login("eve")
    held = member.get(reverse("campaigns:list"))
    assert held.status_code == 302 and held["Location"] == reverse("accounts:two-factor-setup")
    _enrol(member)
    assert member.get(reverse("campaigns:list")).status_code == 200
    refused = member.post(reverse("accounts:two-factor-setup"), {"disable": "1"}, follow=True)
    assert b"require two-factor" in refused.content
    assert TOTPDevice.objects.filter(user__username="eve", confirmed=True).exists()


def test_the_upgrade_makes_superusers_admins_and_everyone_else_a_viewer(django_user_model):
    boss = django_user_model.objects.create_superuser("root", "r@example.test", PASSWORD)
    staff = django_user_model.objects.create_user("staffer", is_staff=True)
    plain = django_user_model.objects.create_user("plain")
    migration = importlib.import_module("accounts.migrations.0002_roles")
    migration.forwards(apps, None)
    assert list(boss.groups.values_list("name", flat=True)) == ["Admin"]
    for user in (staff, plain):
        assert list(user.groups.values_list("name", flat=True)) == ["Viewer"]
    staff.refresh_from_db()
    assert not staff.is_staff
    assert User.objects.get(pk=boss.pk).is_staff


@pytest.mark.parametrize(("proxies", "expected"), [("", "None"), ("10.0.0.0/8", "HTTPS")])
def test_https_is_believed_from_a_proxy_only_when_one_is_declared(proxies, expected):
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print('HTTPS' if settings.SECURE_PROXY_SSL_HEADER else 'None')"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "TRUSTED_PROXIES": proxies,
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected


def test_a_client_cannot_claim_https_without_a_proxy(client, make_user):
    client.force_login(make_user("fay", role="Viewer"))
    response = client.get(reverse("campaigns:list"), headers={"X-Forwarded-Proto": "https"})
    assert response.wsgi_request.is_secure() is False
