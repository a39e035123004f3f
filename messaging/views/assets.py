"""Templates & Media: email templates, content blocks (edited with a rendered preview) and
the media library (uploaded images with their URLs to copy).

The objects belong to `assets`; these pages live in messaging because the preview renders
the Liquid exactly as a send would (content blocks expanded, then messaging.liquid).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST
from liquid.exceptions import LiquidError

from accounts.access import permission_required
from assets import selectors as asset_selectors
from assets import services as asset_services
from assets.models import BLOCK_DESCRIPTION_MAX, BLOCK_NAME_MAX, ContentBlock, MediaAsset
from config.api import DomainError

from .. import liquid

# --- Preview ----------------------------------------------------------------------------------

PREVIEW_PROFILE = {
    "first_name": "Ada", "last_name": "Lovelace", "email_address": "ada@example.com",
    "user_id": "preview-user", "city": "London", "country": "GB", "language": "en",
}


def _preview_context() -> dict[str, Any]:
    return {
        liquid.STANDARD: dict(PREVIEW_PROFILE),
        "custom_attribute": {},
        "campaign": {"api_id": "", "name": "Preview", "dispatch_id": "preview",
                     "send_id": "", "message_name": "", "message_api_id": ""},
        "subscribed_state": {"email_global": "subscribed"},
    }


def render_preview(fields: dict[str, str]) -> dict[str, Any]:
    """Each field rendered for the sample profile, as a send would; or the first error."""
    try:
        expanded = liquid.expand_content_blocks(
            fields, lookup=asset_selectors.active_block_contents, field_path="preview"
        )
        rendered, _ = liquid.render_fields(
            liquid.compile_fields(expanded, field_path="preview"), _preview_context()
        )
    except liquid.LiquidTemplateError as exc:
        return {"error": f"{exc.field.removeprefix('preview.')}: {exc.detail}"}
    except liquid.AbortMessage as abort:
        return {"error": f"abort_message: {abort.reason}"}
    except (LiquidError, ValueError, TypeError) as exc:
        return {"error": str(exc).splitlines()[0]}
    return {"fields": rendered, "html": rendered.get("body") or rendered.get("content") or ""}


def _errors_to_form(form: forms.Form, exc: DomainError) -> None:
    for error in exc.errors or [str(exc)]:
        name, _, text = error.partition(": ")
        name = {"template_name": "name"}.get(name, name)
        form.add_error(name if name in form.fields else None, text or error)


# --- Email templates --------------------------------------------------------------------------


class EmailTemplateForm(forms.Form):
    name = forms.CharField(label="Template name", max_length=255)
    subject = forms.CharField(max_length=998)
    preheader = forms.CharField(max_length=255, required=False,
                                help_text="Shown after the subject by most mail apps.")
    body = forms.CharField(label="HTML body", widget=forms.Textarea(attrs={"rows": 14}),
                           help_text="Liquid works here, and content blocks: "
                                     "{{content_blocks.${name}}}.")
    plaintext_body = forms.CharField(
        label="Plain-text body", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional: made from the HTML body when empty.")


def _get_template(template_id: str):  # type: ignore[no-untyped-def]
    template = asset_selectors.email_template_get(template_id)
    if template is None:
        raise Http404("No such email template")
    return template


@permission_required("assets.view_emailtemplate")
def email_template_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    return render(request, "assets/email_template_list.html", {
        "nav": "assets", "templates": asset_selectors.email_template_list(search=search),
        "q": search,
    })


def _template_editor(request: HttpRequest, template=None) -> HttpResponse:  # type: ignore[no-untyped-def]
    initial = None
    if template is not None:
        initial = {"name": template.name, "subject": template.subject,
                   "preheader": template.preheader, "body": template.body,
                   "plaintext_body": template.plaintext_body}
    form = EmailTemplateForm(request.POST or None, initial=initial)
    page = "assets/email_template_form.html"
    if request.method == "POST" and request.POST.get("action") == "preview":
        data = {k: request.POST.get(k, "") for k in ("subject", "preheader", "body")}
        context = {"preview": render_preview(data), "nav": "assets"}
        if request.htmx:
            return render(request, page + "#preview", context)
        return render(request, page, {**context, "form": form, "template": template})
    if request.method == "POST" and form.is_valid():
        fields = asset_services.TemplateFields(**form.cleaned_data)
        try:
            if template is None:
                template = asset_services.email_template_create(fields=fields, by=request.user)
            else:
                template = asset_services.email_template_update(template=template, fields=fields)
        except DomainError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Email template “{template.name}” saved.")
            return redirect("messaging:email-template-edit", template.email_template_id)
    source = form.data if form.is_bound else (initial or {})
    preview = render_preview({k: source.get(k, "") or "" for k in ("subject", "preheader", "body")})
    return render(request, page, {"nav": "assets", "form": form, "template": template,
                                  "preview": preview})


@permission_required("assets.view_emailtemplate", write="assets.add_emailtemplate")
@require_http_methods(["GET", "POST"])
def email_template_new(request: HttpRequest) -> HttpResponse:
    return _template_editor(request)


@permission_required("assets.view_emailtemplate", write="assets.change_emailtemplate")
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, template_id: str) -> HttpResponse:
    return _template_editor(request, _get_template(template_id))


# --- Content blocks ---------------------------------------------------------------------------


class ContentBlockForm(forms.Form):
    name = forms.CharField(max_length=BLOCK_NAME_MAX,
                           help_text="Letters, digits, hyphens and underscores.")
    description = forms.CharField(max_length=BLOCK_DESCRIPTION_MAX, required=False)
    content = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}),
                              help_text="HTML or text; Liquid works here.")
    state = forms.ChoiceField(choices=ContentBlock.State.choices,
                              help_text="Only active blocks go out in messages.")


def _get_block(block_id: str) -> ContentBlock:
    block = asset_selectors.content_block_get(block_id)
    if block is None:
        raise Http404("No such content block")
    return block


@permission_required("assets.view_contentblock")
def content_block_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    return render(request, "assets/content_block_list.html", {
        "nav": "assets", "blocks": asset_selectors.content_block_list(search=search), "q": search,
    })


def _block_editor(request: HttpRequest, block: ContentBlock | None = None) -> HttpResponse:
    initial = None
    if block is not None:
        initial = {"name": block.name, "description": block.description,
                   "content": block.content, "state": block.state}
    form = ContentBlockForm(request.POST or None, initial=initial or {"state": "active"})
    page = "assets/content_block_form.html"
    if request.method == "POST" and request.POST.get("action") == "preview":
        context = {"preview": render_preview({"content": request.POST.get("content", "")}),
                   "nav": "assets"}
        if request.htmx:
            return render(request, page + "#preview", context)
        return render(request, page, {**context, "form": form, "content_block": block})
    if request.method == "POST" and form.is_valid():
        fields = asset_services.BlockFields(**form.cleaned_data)
        try:
            if block is None:
                block = asset_services.content_block_create(fields=fields, by=request.user)
            else:
                block = asset_services.content_block_update(block=block, fields=fields)
        except DomainError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Content block “{block.name}” saved.")
            return redirect("messaging:content-block-edit", block.content_block_id)
    source = form.data if form.is_bound else (initial or {})
    preview = render_preview({"content": source.get("content", "") or ""})
    return render(request, page, {"nav": "assets", "form": form, "content_block": block,
                                  "preview": preview})


@permission_required("assets.view_contentblock", write="assets.add_contentblock")
@require_http_methods(["GET", "POST"])
def content_block_new(request: HttpRequest) -> HttpResponse:
    return _block_editor(request)


@permission_required("assets.view_contentblock", write="assets.change_contentblock")
@require_http_methods(["GET", "POST"])
def content_block_edit(request: HttpRequest, block_id: str) -> HttpResponse:
    return _block_editor(request, _get_block(block_id))


# --- Media library ----------------------------------------------------------------------------


class MediaUploadForm(forms.Form):
    file = forms.FileField(label="Image", help_text="PNG, JPEG, GIF or WebP, at most 5 MB.")


def media_url(asset: MediaAsset) -> str:
    """The asset's public URL: valid for as long as the asset exists."""
    return settings.SITE_URL + reverse(
        "messaging:media-file", args=[asset.api_id.hex, asset.extension]
    )


@permission_required("assets.view_mediaasset", write="assets.add_mediaasset")
@require_http_methods(["GET", "POST"])
def media_list(request: HttpRequest) -> HttpResponse:
    form = MediaUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > asset_services.MEDIA_MAX_BYTES:
                # Refused before reading it: the size the upload declares is enough.
                raise asset_services.InvalidAsset(
                    f"file: {upload.size / 1024 / 1024:.1f} MB is over the limit of "
                    f"{asset_services.MEDIA_MAX_BYTES // 1024 // 1024} MB")
            asset = asset_services.media_asset_create(
                name=upload.name, data=upload.read(), by=request.user)
        except DomainError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"“{asset.name}” uploaded.")
            return redirect("messaging:media-list")
    assets = [(asset, media_url(asset)) for asset in asset_selectors.media_asset_list()]
    status = 400 if form.errors else 200
    return render(request, "assets/media_list.html",
                  {"nav": "assets", "form": form, "assets": assets}, status=status)


@permission_required("assets.view_mediaasset", write="assets.delete_mediaasset")
@require_POST
def media_delete(request: HttpRequest, asset_id: str) -> HttpResponse:
    asset = asset_selectors.media_asset_get(asset_id)
    if asset is None:
        raise Http404("No such image")
    asset_services.media_asset_delete(asset=asset)
    messages.success(request, f"“{asset.name}” deleted: its URL no longer answers.")
    return redirect("messaging:media-list")


def media_file(request: HttpRequest, asset_id: str, extension: str) -> HttpResponse:
    """The image itself, public (emails and cards load it), streamed from the storage."""
    asset = asset_selectors.media_asset_get(asset_id)
    if asset is None or asset.extension != extension:
        raise Http404("No such image")
    response = FileResponse(asset.file.open("rb"), content_type=asset.content_type)
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


def assets_index(request: HttpRequest) -> HttpResponse:
    return redirect("messaging:email-template-list")


urlpatterns = [
    # /assets/… (Templates & Media)
    path("assets/", assets_index, name="assets"),
    path("assets/email-templates/", email_template_list, name="email-template-list"),
    path("assets/email-templates/new/", email_template_new, name="email-template-new"),
    path("assets/email-templates/<str:template_id>/", email_template_edit,
         name="email-template-edit"),
    path("assets/content-blocks/", content_block_list, name="content-block-list"),
    path("assets/content-blocks/new/", content_block_new, name="content-block-new"),
    path("assets/content-blocks/<str:block_id>/", content_block_edit,
         name="content-block-edit"),
    path("assets/media/", media_list, name="media-list"),
    path("assets/media/<str:asset_id>/delete/", media_delete, name="media-delete"),
    path("media/<str:asset_id>.<str:extension>", media_file, name="media-file"),
]
