"""Braze-flavoured Liquid on python-liquid 2 (spec §6).

Braze writes attribute lookups as `${name}` inside Liquid: `{{${first_name}}}`,
`{{custom_attribute.${favourite colour}}}`, `{% if ${first_name} != blank %}`,
`{% if {{custom_attribute.${balance}}} > 0 %}`. We translate that dialect into plain
Liquid before parsing (a bracketed lookup such as `custom_attribute["favourite colour"]`),
so python-liquid's own parser, filters and resource limits do the real work.

Two Braze tags are added: `{% abort_message('reason') %}` (skip this recipient) and
`{% message_extras :key k :value v %}` (attach a key/value to the send event).

Templates are compiled once (`compile_fields`) and rendered per profile
(`render_fields`); only strings that contain Liquid markup are parsed at all.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from liquid import Environment, Tag
from liquid.ast import Node
from liquid.builtin.expressions.arguments import PositionalArgument
from liquid.builtin.expressions.logical import EqExpression, NeExpression
from liquid.builtin.expressions.primitive import Blank, Empty
from liquid.context import RenderContext
from liquid.exceptions import LiquidError, LiquidSyntaxError
from liquid.expression import Expression
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG
from liquid.undefined import is_undefined

# Braze truncates message_extras beyond 1 KB in total (spec §2.7).
MESSAGE_EXTRAS_MAX_BYTES = 1024
EXTRAS_GLOBAL = "_herald_message_extras"


class AbortMessage(Exception):
    """Raised by `{% abort_message %}`: this recipient gets no message."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or "abort_message called")
        self.reason = reason


class LiquidTemplateError(ValueError):
    """A template does not parse; `field` names where it is (`messages.email.body`)."""

    def __init__(self, field_path: str, detail: str) -> None:
        super().__init__(f"{field_path}: Liquid syntax error: {detail}")
        self.field = field_path
        self.detail = detail


# --- Tags ---------------------------------------------------------------------------------


class _AbortNode(Node):
    __slots__ = ("reason",)

    def __init__(self, token, reason) -> None:  # type: ignore[no-untyped-def]
        super().__init__(token)
        self.reason = reason
        self.blank = False

    def __str__(self) -> str:
        return "{% abort_message %}"

    def render_to_output(self, context, buffer: TextIO) -> int:  # type: ignore[no-untyped-def]
        reason = self.reason.evaluate(context) if self.reason is not None else ""
        raise AbortMessage(str(reason) if reason is not None else "")


class _AbortTag(Tag):
    name = "abort_message"
    block = False

    def parse(self, stream):  # type: ignore[no-untyped-def]
        token = stream.eat(TOKEN_TAG)
        reason = None
        if stream.current.kind == TOKEN_EXPRESSION:
            args = PositionalArgument.parse(self.env, stream.into_inner(tag=token, eat=False))
            reason = args[0].value if args else None
        return _AbortNode(token, reason)


class _ExtrasNode(Node):
    __slots__ = ("key", "value")

    def __init__(self, token, key, value) -> None:  # type: ignore[no-untyped-def]
        super().__init__(token)
        self.key = key
        self.value = value
        self.blank = True

    def __str__(self) -> str:
        return "{% message_extras %}"

    def render_to_output(self, context, buffer: TextIO) -> int:  # type: ignore[no-untyped-def]
        extras = context.globals.get(EXTRAS_GLOBAL)
        if extras is not None:
            key = str(_plain(self.key.evaluate(context))).strip()
            value = str(_plain(self.value.evaluate(context))).strip()
            extras.add(key, value)
        return 0


def _plain(value: Any) -> Any:
    # Undefined renders as "" like any missing attribute.
    return "" if value is None or type(value).__name__.endswith("Undefined") else value


class _ExtrasTag(Tag):
    name = "message_extras"
    block = False

    def parse(self, stream):  # type: ignore[no-untyped-def]
        token = stream.eat(TOKEN_TAG)
        args = PositionalArgument.parse(self.env, stream.into_inner(tag=token, eat=False))
        if len(args) != 2:
            raise LiquidSyntaxError(
                "message_extras expects ':key <key> :value <value>'", token=token
            )
        return _ExtrasNode(token, args[0].value, args[1].value)


def _json_escape(value: object) -> str:
    """Braze's `json_escape`: the value as it may sit inside a JSON string."""
    return json.dumps("" if value is None else str(_plain(value)))[1:-1]


class BrazeEnvironment(Environment):
    # Bounds on what one template may cost per recipient (a template is user input).
    loop_iteration_limit = 10_000
    output_stream_limit = 1_000_000
    local_namespace_limit = 100_000

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.add_tag(_AbortTag)
        self.add_tag(_ExtrasTag)
        self.add_filter("json_escape", _json_escape)


ENV = BrazeEnvironment()


# --- `blank` / `empty` on missing values -------------------------------------------------------
# python-liquid treats nil (a missing attribute) as neither blank nor empty, so Braze's
# `{% if custom_attribute.${x} == blank %}` would be false for a user without `x`. Braze users
# branch on missing data exactly that way, so comparisons against `blank`/`empty` in our
# templates count nil/undefined as blank and empty. Only those comparison nodes change
# (their class is swapped after parsing): `== nil`, truthiness and `default` keep Liquid's rules.


def _nil_or_missing(value: object) -> bool:
    return value is None or is_undefined(value)


def _blank_eq(expression: EqExpression | NeExpression, context: RenderContext) -> bool:
    left, right = expression.left.evaluate(context), expression.right.evaluate(context)
    if _nil_or_missing(left) or _nil_or_missing(right):
        other = right if isinstance(left, (Blank, Empty)) else left
        return _nil_or_missing(other)
    # Anything else compares as python-liquid does (EqExpression's own rule).
    return bool(EqExpression(expression.token, expression.left, expression.right).evaluate(context))


class _BlankAwareEq(EqExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> object:
        return _blank_eq(self, context)

    async def evaluate_async(self, context: RenderContext) -> object:
        return _blank_eq(self, context)


class _BlankAwareNe(NeExpression):
    __slots__ = ()

    def evaluate(self, context: RenderContext) -> object:
        return not _blank_eq(self, context)

    async def evaluate_async(self, context: RenderContext) -> object:
        return not _blank_eq(self, context)


def _blank_aware(expression: Expression) -> None:
    for child in expression.children():
        _blank_aware(child)
    if type(expression) in (EqExpression, NeExpression) and any(
        isinstance(side, (Blank, Empty))
        for side in (expression.left, expression.right)  # type: ignore[attr-defined]
    ):
        expression.__class__ = _BlankAwareEq if type(expression) is EqExpression else _BlankAwareNe


def _blank_aware_nodes(nodes, context: RenderContext) -> None:  # type: ignore[no-untyped-def]
    for node in nodes:
        for expression in node.expressions():
            _blank_aware(expression)
        _blank_aware_nodes(node.children(context, include_partials=False), context)


# --- Braze dialect → Liquid ------------------------------------------------------------------

STANDARD = "standard_attribute"
_NAMESPACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.\$\{([^}]*)\}")
_BARE = re.compile(r"\$\{([^}]*)\}")
_TAG = re.compile(r"\{%-?.*?-?%\}", re.DOTALL)
_INNER_OUTPUT = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_ABORT_CALL = re.compile(r"(\{%-?\s*abort_message)\s*\(\s*(.*?)\s*\)\s*(-?%\})", re.DOTALL)
_EXTRAS = re.compile(
    r"(\{%-?\s*message_extras)\s+:key\s+(.*?)\s+:value\s+(.*?)\s*(-?%\})", re.DOTALL
)
MARKUP = re.compile(r"\{\{|\{%|\$\{")


def _path(name: str) -> str:
    # Nested attributes: `${address.city}` → ["address"]["city"]; names may hold spaces.
    return "".join(f"[{json.dumps(part)}]" for part in name.strip().split("."))


def _extras_arg(text: str) -> str:
    # A bare word is a literal (`:key order_id`); `{{ … }}` is a value looked up per profile.
    inner = _INNER_OUTPUT.fullmatch(text.strip())
    if inner:
        return inner.group(1)
    return json.dumps(text.strip())


def translate(source: str) -> str:
    """Rewrite Braze's `${…}` lookups and tag spellings into plain Liquid."""
    text = _NAMESPACED.sub(lambda m: m.group(1) + _path(m.group(2)), source)
    text = _BARE.sub(lambda m: STANDARD + _path(m.group(1)), text)
    text = _ABORT_CALL.sub(lambda m: f"{m.group(1)} {m.group(2)} {m.group(3)}", text)
    text = _EXTRAS.sub(
        lambda m: f"{m.group(1)} {_extras_arg(m.group(2))}, {_extras_arg(m.group(3))} {m.group(4)}",
        text,
    )
    # `{% if {{custom_attribute.${balance}}} > 0 %}`: output braces inside a tag mean the value.
    return _TAG.sub(lambda m: _INNER_OUTPUT.sub(r"\1", m.group(0)), text)


# --- Compile once, render per profile ---------------------------------------------------------


@dataclass
class MessageExtras:
    """What `{% message_extras %}` attached: first key wins, ≤ 1 KB in total."""

    values: dict[str, str] = field(default_factory=dict)
    size: int = 0

    def add(self, key: str, value: str) -> None:
        if not key or key in self.values:
            return
        cost = len(key.encode()) + len(value.encode())
        room = MESSAGE_EXTRAS_MAX_BYTES - self.size
        if room <= len(key.encode()):
            return
        if cost > room:
            value = value.encode()[: room - len(key.encode())].decode(errors="ignore")
            cost = room
        self.values[key] = value
        self.size += cost


@dataclass(frozen=True)
class Compiled:
    """A message object with its Liquid strings parsed: a tree of str, Template, dict, list."""

    tree: Any


@functools.lru_cache(maxsize=1024)
def _parse(source: str):  # type: ignore[no-untyped-def]
    """Parse one Braze template (cached: callers send the same templates again and again).

    A parsed template holds no render state, so sharing it between requests and threads
    is safe; errors are not cached and are raised again on every call.
    """
    template = ENV.from_string(translate(source))
    unknown = sorted(set(template.analyze().filters) - set(ENV.filters))
    if unknown:
        raise LiquidSyntaxError(f"unknown filter {unknown[0]!r}", token=None)
    _blank_aware_nodes(template.nodes, RenderContext(template))
    return template


def _compile(value: Any, field_path: str) -> Any:
    if isinstance(value, str):
        if not MARKUP.search(value):
            return value
        try:
            return _parse(value)
        except LiquidError as exc:
            raise LiquidTemplateError(field_path, str(exc).splitlines()[0]) from None
    if isinstance(value, dict):
        return {k: _compile(v, f"{field_path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_compile(v, f"{field_path}[{i}]") for i, v in enumerate(value)]
    return value


def compile_fields(value: Any, *, field_path: str) -> Compiled:
    """Parse every string holding Liquid; raise LiquidTemplateError naming the field."""
    return Compiled(_compile(value, field_path))


def _render(value: Any, data: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _render(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, data) for v in value]
    if hasattr(value, "render"):
        return value.render(**data)
    return value


def render_fields(compiled: Compiled, context: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """Render for one recipient: (rendered tree, message extras).

    Raises AbortMessage when the template calls abort_message, and LiquidError when
    rendering fails (a filter given the wrong type, a resource limit).
    """
    extras = MessageExtras()
    data = {**context, EXTRAS_GLOBAL: extras}
    return _render(compiled.tree, data), extras.values


def iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)
