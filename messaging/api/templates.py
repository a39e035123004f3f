"""REST endpoints: email templates and content blocks (Braze's Templates endpoints).

The objects live in `assets`; these views validate (the Liquid too, so a template that
cannot be sent is refused when it is saved) and answer in Braze's shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from assets import selectors, services
from assets.errors import InvalidAsset, UnknownContentBlock, UnknownEmailTemplate
from assets.models import ContentBlock, EmailTemplate
from config.api import api_response, endpoint
from config.api.times import iso_utc

from .. import liquid
from ..schemas.templates import (
    AssetListQuery,
    ContentBlockCreate,
    ContentBlockInfo,
    ContentBlockInfoQuery,
    ContentBlockListResponse,
    ContentBlockSaved,
    ContentBlockUpdate,
    EmailTemplateCreate,
    EmailTemplateInfo,
    EmailTemplateInfoQuery,
    EmailTemplateListResponse,
    EmailTemplateSaved,
    EmailTemplateUpdate,
)

TAGS = ("Templates",)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment


def _check_liquid(fields: dict[str, str | None], prefix: str = "") -> None:
    """Refuse Liquid that would not compile at send time, naming the field."""
    for name, value in fields.items():
        if not value:
            continue
        try:
            liquid.compile_fields(value, field_path=f"{prefix}{name}")
        except liquid.LiquidTemplateError as exc:
            raise InvalidAsset(str(exc)) from None


def _tag_names(obj: EmailTemplate | ContentBlock) -> list[str]:
    return [tag.name for tag in obj.tags.all()]


# --- Email templates --------------------------------------------------------------------------


@endpoint("/templates/email/create", permission="templates.email.create", tags=TAGS,
          summary="Create an email template", body=EmailTemplateCreate,
          response=EmailTemplateSaved)
def email_template_create(request: HttpRequest, body: EmailTemplateCreate) -> JsonResponse:
    """The answer's `email_template_id` names it in `/messages/send` and the other calls."""
    _check_liquid({"subject": body.subject, "body": body.body,
                   "plaintext_body": body.plaintext_body, "preheader": body.preheader})
    template = services.email_template_create(fields=services.TemplateFields(
        name=body.template_name, subject=body.subject, body=body.body,
        plaintext_body=body.plaintext_body, preheader=body.preheader,
        should_inline_css=body.should_inline_css, tags=body.tags,
    ))
    return api_response({"email_template_id": template.email_template_id}, status=201)


@endpoint("/templates/email/update", permission="templates.email.update", tags=TAGS,
          summary="Update an email template", body=EmailTemplateUpdate,
          response=EmailTemplateSaved)
def email_template_update(request: HttpRequest, body: EmailTemplateUpdate) -> JsonResponse:
    """Every field but `email_template_id` is optional; at least one must be given."""
    template = selectors.email_template_get(body.email_template_id)
    if template is None:
        raise UnknownEmailTemplate("email_template_id: no such email template")
    _check_liquid({"subject": body.subject, "body": body.body,
                   "plaintext_body": body.plaintext_body, "preheader": body.preheader})
    template = services.email_template_update(template=template, fields=services.TemplateFields(
        name=body.template_name, subject=body.subject, body=body.body,
        plaintext_body=body.plaintext_body, preheader=body.preheader,
        should_inline_css=body.should_inline_css, tags=body.tags,
    ))
    return api_response({"email_template_id": template.email_template_id}, status=201)


@endpoint("/templates/email/list", method="GET", permission="templates.email.list",
          tags=TAGS, summary="List email templates (100 per page by default, 1000 at most)",
          query=AssetListQuery, response=EmailTemplateListResponse)
def email_template_list(request: HttpRequest, query: AssetListQuery) -> JsonResponse:
    """Most recently edited first; `modified_after`/`modified_before` bound the edit time."""
    templates = selectors.email_template_page(
        modified_after=_aware(query.modified_after), modified_before=_aware(query.modified_before),
        limit=query.limit, offset=query.offset,
    )
    return api_response({"count": len(templates), "templates": [
        {"email_template_id": t.email_template_id, "template_name": t.name,
         "created_at": iso_utc(t.created_at), "updated_at": iso_utc(t.updated_at),
         "tags": _tag_names(t)}
        for t in templates
    ]}, status=200)


@endpoint("/templates/email/info", method="GET", permission="templates.email.info",
          tags=TAGS, summary="One email template", query=EmailTemplateInfoQuery,
          response=EmailTemplateInfo)
def email_template_info(request: HttpRequest, query: EmailTemplateInfoQuery) -> JsonResponse:
    """Its subject, bodies, preheader, tags and times."""
    template = selectors.email_template_get(query.email_template_id)
    if template is None:
        raise UnknownEmailTemplate("email_template_id: no such email template")
    return api_response({
        "email_template_id": template.email_template_id,
        "template_name": template.name,
        "description": template.description,
        "subject": template.subject,
        "preheader": template.preheader,
        "body": template.body,
        "plaintext_body": template.plaintext_body,
        "should_inline_css": template.should_inline_css,
        "tags": _tag_names(template),
        "created_at": iso_utc(template.created_at),
        "updated_at": iso_utc(template.updated_at),
    })


# --- Content blocks ---------------------------------------------------------------------------


def _block_saved(block: ContentBlock) -> JsonResponse:
    return api_response({
        "content_block_id": block.content_block_id,
        "liquid_tag": block.liquid_tag,
        "created_at": iso_utc(block.created_at),
    }, status=201)


@endpoint("/content_blocks/create", permission="content_blocks.create", tags=TAGS,
          summary="Create a content block", body=ContentBlockCreate,
          response=ContentBlockSaved)
def content_block_create(request: HttpRequest, body: ContentBlockCreate) -> JsonResponse:
    """Include it in any message as the answer's `liquid_tag`, `{{content_blocks.${name}}}`."""
    _check_liquid({"content": body.content})
    block = services.content_block_create(fields=services.BlockFields(
        name=body.name, description=body.description, content=body.content,
        state=body.state, tags=body.tags,
    ))
    return _block_saved(block)


@endpoint("/content_blocks/update", permission="content_blocks.update", tags=TAGS,
          summary="Update a content block", body=ContentBlockUpdate,
          response=ContentBlockSaved)
def content_block_update(request: HttpRequest, body: ContentBlockUpdate) -> JsonResponse:
    """An active block cannot go back to draft; a renamed block keeps its ID."""
    block = selectors.content_block_get(body.content_block_id)
    if block is None:
        raise UnknownContentBlock("content_block_id: no such content block")
    _check_liquid({"content": body.content})
    block = services.content_block_update(block=block, fields=services.BlockFields(
        name=body.name, description=body.description, content=body.content,
        state=body.state, tags=body.tags,
    ))
    return _block_saved(block)


def _block_summary(block: ContentBlock, inclusions: dict[int, int]) -> dict:
    return {
        "content_block_id": block.content_block_id,
        "name": block.name,
        "content_type": block.content_type,
        "liquid_tag": block.liquid_tag,
        "inclusion_count": inclusions.get(block.pk, 0),
        "created_at": iso_utc(block.created_at),
        "last_edited": iso_utc(block.updated_at),
        "tags": _tag_names(block),
    }


@endpoint("/content_blocks/list", method="GET", permission="content_blocks.list",
          tags=TAGS, summary="List content blocks (100 per page by default, 1000 at most)",
          query=AssetListQuery, response=ContentBlockListResponse)
def content_block_list(request: HttpRequest, query: AssetListQuery) -> JsonResponse:
    """Most recently edited first; `modified_after`/`modified_before` bound the edit time."""
    blocks = selectors.content_block_page(
        modified_after=_aware(query.modified_after), modified_before=_aware(query.modified_before),
        limit=query.limit, offset=query.offset,
    )
    inclusions = selectors.content_block_inclusions(blocks)
    return api_response({"count": len(blocks),
                         "content_blocks": [_block_summary(b, inclusions) for b in blocks]})


@endpoint("/content_blocks/info", method="GET", permission="content_blocks.info",
          tags=TAGS, summary="One content block", query=ContentBlockInfoQuery,
          response=ContentBlockInfo)
def content_block_info(request: HttpRequest, query: ContentBlockInfoQuery) -> JsonResponse:
    """`include_inclusion_data=true` adds `inclusion_data` (message variation IDs: always
    empty, since an API campaign's copy comes with each request)."""
    block = selectors.content_block_get(query.content_block_id)
    if block is None:
        raise UnknownContentBlock("content_block_id: no such content block")
    inclusions = selectors.content_block_inclusions([block])
    answer = {**_block_summary(block, inclusions), "content": block.content,
              "description": block.description, "state": block.state}
    if query.include_inclusion_data:
        answer["inclusion_data"] = []
    return api_response(answer)
