"""Shared fixtures: personas, API keys, and a real browser (Debian's chromium)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's async-safety
# check would then refuse ORM calls made by the test itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# CI sets HERALD_REQUIRE_ALL=1: tests that need chromium or Redis fail instead of skipping.
REQUIRE_ALL = os.environ.get("HERALD_REQUIRE_ALL") == "1"
ARTIFACTS = Path(
    os.environ.get("HERALD_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts")
)


def missing(reason: str) -> None:
    """Skip a test whose service is missing here, or fail it where everything is required."""
    if REQUIRE_ALL:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_key_touches():
    """Each process throttles last_used_at writes per key pk; pks repeat between tests."""
    from messaging.access import auth

    auth._local_touches.clear()


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Run tasks in-process unless the test drives a real worker.

    CI may set REDIS_URL for the whole suite, which makes Redis the broker; then a
    `.delay()` would queue for a worker that is not running.
    """
    if request.node.get_closest_marker("worker"):
        yield
        return
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def make_user(db, django_user_model):
    """make_user("name", role="Marketer") -> a user with that role ("" or None: no role)."""
    from django.contrib.auth.models import Group

    def make(username, role=None, password="correct horse battery"):
        user = django_user_model.objects.create_user(
            username=username, email=f"{username}@example.test", password=password
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
            if role == "Admin":
                user.is_staff = True
                user.save(update_fields=["is_staff"])
        return user

    return make


@pytest.fixture
def marketer(make_user):
    return make_user("marketer", role="Marketer")


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.fixture
def developer(make_user):
    return make_user("developer", role="Developer")


@pytest.fixture
def developer_client(client, developer):
    client.force_login(developer)
    return client


@pytest.fixture
def admin_member(make_user):
    """An Admin by role (not a superuser): what Settings › Team makes of an admin."""
    return make_user("admin-member", role="Admin")


@pytest.fixture
def admin_member_client(client, admin_member):
    client.force_login(admin_member)
    return client


@pytest.fixture
def make_api_key(db):
    """make_api_key(permissions=[...]) -> (ApiKey, full key string)."""
    from messaging.models import ApiKey, Permission

    def make(permissions=None, name="test key", allowed_networks=None):
        key, prefix, digest = ApiKey.generate()
        api_key = ApiKey.objects.create(
            name=name,
            prefix=prefix,
            digest=digest,
            permissions=list(Permission.values) if permissions is None else list(permissions),
            allowed_networks=allowed_networks or [],
        )
        return api_key, key

    return make


@pytest.fixture
def api_key(make_api_key):
    """A key with every permission: (ApiKey, key string)."""
    return make_api_key()


@pytest.fixture
def api(client, api_key):
    """A test client that sends JSON with a valid bearer key."""

    class Api:
        key = api_key[1]

        def post(self, path, data=None, key=None, **extra):
            import json

            body = data if isinstance(data, (str, bytes)) else json.dumps(data or {})
            return client.post(
                path, body, content_type="application/json",
                headers={"Authorization": f"Bearer {key or self.key}", **extra.pop("headers", {})},
                **extra,
            )

        def get(self, path, params=None, key=None, **extra):
            return client.get(
                path, params or {},
                headers={"Authorization": f"Bearer {key or self.key}", **extra.pop("headers", {})},
                **extra,
            )

    return Api()


# --- Browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        missing(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser page; a screenshot is kept in test-artifacts/ when the test fails."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def browser_login(
    page, username, password="correct horse battery", landing="**/messaging/campaigns/**"
):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(landing)
    return page


@pytest.fixture
def logged_in_page(page, live_server, marketer):
    return browser_login(page, "marketer")


@pytest.fixture
def developer_page(page, live_server, developer):
    return browser_login(page, "developer")


@pytest.fixture
def admin_member_page(page, live_server, admin_member):
    return browser_login(page, "admin-member")
