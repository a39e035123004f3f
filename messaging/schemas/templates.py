"""Models of the Templates & Media endpoints: email templates and content blocks.

Braze's documentation: /templates/email/{list,info,create,update} and
/content_blocks/{list,info,create,update}. Fields, defaults and limits are Braze's;
where Braze is silent, docs/assets.md says what Herald decided.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from config.api.times import ApiTime
from config.api.validation import NoNul

LIST_DEFAULT = 100
LIST_MAX = 1000
MAX_TAGS = 100


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AssetListQuery(_Query):
    """A page of objects edited within the window, most recently edited first."""

    modified_after: ApiTime | None = None
    modified_before: ApiTime | None = None
    limit: int = Field(LIST_DEFAULT, ge=1, le=LIST_MAX)
    offset: int = Field(0, ge=0, le=1_000_000)


Tags = list[NoNul]


class EmailTemplateCreate(_Body):
    template_name: NoNul = Field(min_length=1, max_length=255)
    subject: NoNul = Field(min_length=1, max_length=998)
    body: NoNul = Field(min_length=1, description="HTML, at most 400 KB")
    plaintext_body: NoNul | None = None
    preheader: NoNul | None = Field(None, max_length=255)
    tags: Tags | None = Field(None, max_length=MAX_TAGS, description="tags must already exist")
    should_inline_css: StrictBool | None = None


class EmailTemplateUpdate(_Body):
    email_template_id: NoNul = Field(min_length=1)
    template_name: NoNul | None = Field(None, min_length=1, max_length=255)
    subject: NoNul | None = Field(None, min_length=1, max_length=998)
    body: NoNul | None = Field(None, min_length=1)
    plaintext_body: NoNul | None = None
    preheader: NoNul | None = Field(None, max_length=255)
    tags: Tags | None = Field(None, max_length=MAX_TAGS)
    should_inline_css: StrictBool | None = None

    @model_validator(mode="after")
    def _something(self) -> EmailTemplateUpdate:
        if not self.model_fields_set - {"email_template_id"}:
            raise ValueError("give at least one field to update")
        return self


class EmailTemplateInfoQuery(_Query):
    email_template_id: NoNul = Field(min_length=1)


class EmailTemplateSaved(BaseModel):
    email_template_id: str
    message: str


class EmailTemplateSummary(BaseModel):
    email_template_id: str
    template_name: str
    created_at: str
    updated_at: str
    tags: list[str]


class EmailTemplateListResponse(BaseModel):
    count: int
    templates: list[EmailTemplateSummary]
    message: str


class EmailTemplateInfo(EmailTemplateSummary):
    description: str
    subject: str
    preheader: str
    body: str
    plaintext_body: str
    should_inline_css: bool | None
    message: str


BlockState = Literal["active", "draft"]


class ContentBlockCreate(_Body):
    name: NoNul = Field(min_length=1, max_length=99, description="less than 100 characters; "
                        "letters, digits, hyphens and underscores")
    description: NoNul | None = Field(None, max_length=249)
    content: NoNul = Field(min_length=1, description="HTML or text, at most 50 KB")
    state: BlockState = "active"
    tags: Tags | None = Field(None, max_length=MAX_TAGS, description="tags must already exist")


class ContentBlockUpdate(_Body):
    content_block_id: NoNul = Field(min_length=1)
    name: NoNul | None = Field(None, min_length=1, max_length=99)
    description: NoNul | None = Field(None, max_length=249)
    content: NoNul | None = Field(None, min_length=1)
    state: BlockState | None = None
    tags: Tags | None = Field(None, max_length=MAX_TAGS)

    @model_validator(mode="after")
    def _something(self) -> ContentBlockUpdate:
        if not self.model_fields_set - {"content_block_id"}:
            raise ValueError("give at least one field to update")
        return self


class ContentBlockInfoQuery(_Query):
    content_block_id: NoNul = Field(min_length=1)
    include_inclusion_data: bool = False


class ContentBlockSaved(BaseModel):
    content_block_id: str
    liquid_tag: str
    created_at: str
    message: str


class ContentBlockSummary(BaseModel):
    content_block_id: str
    name: str
    content_type: Literal["html", "text"]
    liquid_tag: str
    inclusion_count: int
    created_at: str
    last_edited: str
    tags: list[str]


class ContentBlockListResponse(BaseModel):
    count: int
    content_blocks: list[ContentBlockSummary]
    message: str


class ContentBlockInfo(ContentBlockSummary):
    content: str
    description: str
    state: BlockState
    inclusion_data: list[str] | None = None
    message: str
