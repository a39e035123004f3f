"""The tick that fires due schedules (config/celery.py runs it every 15 seconds)."""

from __future__ import annotations

from celery import shared_task

from .services import schedules_fire_due


@shared_task(acks_late=True)
def schedules_fire_task() -> int:
    """Fire the schedules whose time has come; returns the dispatches written."""
    return schedules_fire_due()
