"""REST endpoint: engagement reported by apps and providers (`POST /engagement/track`).

The whole body is validated (by the guard), and every message looked up (by the service),
before anything is recorded: a bad item fails the request and leaves no trace.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from config.api import api_response, endpoint

from ..models import Permission
from ..schemas.engagement import EngagementBody, EngagementResponse
from ..services import engagement as engagement_services


@endpoint("/engagement/track", permission=Permission.ENGAGEMENT_TRACK.value,
          summary="Report push opens, card views, SMS receipts, app sessions",
          body=EngagementBody, response=EngagementResponse, tags=("Engagement",))
def engagement_track(request: HttpRequest, body: EngagementBody) -> JsonResponse:
    """Record engagement that only apps and providers see.

    Message events name the delivery by `message_id` (or a content card by `card_id`);
    one-time events (a push open, a receipt, a dismissal) count once per message, and
    repeatable ones (impressions, clicks) once per `id` when given.
    """
    recorded = engagement_services.engagement_track(events=body.events)
    return api_response({"events_processed": len(body.events), "events_recorded": recorded},
                        status=201)
