"""The download of a user export file, by the signed, expiring URL the API answered.

No login and no API key: the signature is the credential (as a cloud storage presigned
URL is). A wrong or expired signature is a 404, so a URL says nothing once it expired.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_GET

from ..exports import export_from_token
from ..models import UserExport


@require_GET
def user_export_file(request: HttpRequest, token: str) -> HttpResponse:
    export = export_from_token(token)
    if export is None:
        return JsonResponse({"message": "This export URL is unknown or has expired"},
                            status=404)
    if export.status != UserExport.Status.DONE or not export.file_name:
        # Not written yet: Braze's URL is likewise not there until the job completes.
        response = JsonResponse({"message": "The export is not ready yet"}, status=404)
        response["Retry-After"] = "5"
        return response
    content_type = "application/zip" if export.output_format == "zip" else "application/gzip"
    name = export.file_name.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(export.file_name, "rb"), as_attachment=True,
                        filename=name, content_type=content_type)


urlpatterns = [
    path("exports/users/<str:token>", user_export_file, name="user-export-file"),
]
