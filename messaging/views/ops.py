"""Operator pages: Prometheus `/metrics`, Settings › System, and the demo's Sent emails."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from config.metrics import exposition

from .. import ops
from ..access.networks import client_address
from ..mailbox import mailbox_enabled, mailbox_get, mailbox_list


class _ScrapeTimeFigures:
    """The figures no process counts, read when Prometheus scrapes (messaging.ops)."""

    def collect(self):  # type: ignore[no-untyped-def]
        state = ops.status()
        depth = GaugeMetricFamily(
            "herald_queue_depth", "Task messages waiting in the broker, by queue.", labels=["queue"]
        )
        for queue, count in state.queues.items():
            if count is not None:
                depth.add_metric([queue], count)
        yield depth
        if state.rollup_lag_seconds is not None:
            yield GaugeMetricFamily(
                "herald_rollup_lag_seconds",
                "Age of the oldest open or click not yet folded into the results (0: none).",
                value=state.rollup_lag_seconds,
            )
        if state.workers is not None:
            yield GaugeMetricFamily(
                "herald_workers_alive", "Celery workers heard from in the last 35 s.",
                value=len(state.workers),
            )  # fmt: skip
        if state.last_sweep is not None:
            yield GaugeMetricFamily(
                "herald_sweep_last_run_timestamp_seconds", "When the sweeper last ran (Unix time).",
                value=state.last_sweep.timestamp(),
            )  # fmt: skip


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(cidr, strict=False)
        for cidr in settings.METRICS_ALLOWED_NETWORKS
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return HttpResponse("Forbidden: METRICS_TOKEN or METRICS_ALLOWED_NETWORKS\n", status=403,
                            content_type="text/plain")  # fmt: skip
    return HttpResponse(exposition(_ScrapeTimeFigures()), content_type=CONTENT_TYPE_LATEST)


def _is_admin(user) -> bool:  # type: ignore[no-untyped-def]
    return bool(user.is_active and (user.is_staff or user.is_superuser))


@login_required
@user_passes_test(_is_admin)
@require_GET
def system(request: HttpRequest) -> HttpResponse:
    state = ops.status()
    context = {
        "status": state,
        "waiting": sum(count or 0 for count in state.queues.values()),
        "nav": "settings",
    }
    return render(request, "messaging/system.html", context)


@login_required
@require_GET
def sent_emails(request: HttpRequest) -> HttpResponse:
    if not mailbox_enabled():
        raise Http404("Emails go to the SMTP server")
    return render(request, "messaging/sent_emails.html",
                  {"mails": mailbox_list(), "nav": "settings"})  # fmt: skip


@login_required
@require_GET
def sent_email(request: HttpRequest, name: str) -> HttpResponse:
    mail = mailbox_get(name) if mailbox_enabled() else None
    if mail is None:
        raise Http404("No such email")
    return render(request, "messaging/sent_email.html", {"mail": mail, "nav": "settings"})


urlpatterns = [
    path("settings/system/", system, name="system"),
    path("settings/sent-emails/", sent_emails, name="sent-emails"),
    path("settings/sent-emails/<str:name>/", sent_email, name="sent-email"),
]
