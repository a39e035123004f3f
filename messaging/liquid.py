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

import contextvars
import functools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import re2
from liquid import Environment, Tag
from liquid.ast import Node
from liquid.builtin.expressions.arguments import PositionalArgument
from liquid.builtin.expressions.logical import EqExpression, NeExpression
from liquid.builtin.expressions.primitive import Blank, Empty, IntegerLiteral, RangeLiteral
from liquid.context import RenderContext
from liquid.exceptions import LiquidError, LiquidSyntaxError
from liquid.expression import Expression
from liquid.template import BoundTemplate
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
    """A template does not parse, or is over a limit on its own; `field` names where it is
    (`messages.email.body`)."""

    def __init__(self, field_path: str, detail: str, *, kind: str = "Liquid syntax error") -> None:
        super().__init__(f"{field_path}: {kind}: {detail}")
        self.field = field_path
        self.detail = detail


class TemplateLimitError(LiquidError):
    """A template went over a resource limit: that recipient's delivery fails, nothing else."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"over a limit: {detail}", token=None)

    def __str__(self) -> str:
        # Just the limit: the engine's excerpt of the template says nothing more useful on
        # the dispatch page, where this message is shown.
        return str(self.args[0])


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


# --- Resource limits ---------------------------------------------------------------------
# A template is user input, rendered once per recipient by a worker: what one render may cost
# is bounded in time and memory, so a hostile template fails its own deliveries and nothing
# else. python-liquid bounds loop iterations, each field's output and assigned variables;
# it has no deadline and does not bound what a filter builds (`(1..20000000) | join`),
# which is what the rest of this section adds.

RENDER_DEADLINE_SECONDS = 1.0
# Any value a filter or a range builds, measured roughly as bytes (see _cost).
MAX_VALUE_BYTES = 1024 * 1024
# A range costs 16 per item (a list slot and an int), so this many fit in MAX_VALUE_BYTES.
MAX_RANGE_ITEMS = MAX_VALUE_BYTES // 16
MAX_FIELD_OUTPUT_CHARS = 1024 * 1024
MAX_TOTAL_OUTPUT_CHARS = 2 * 1024 * 1024  # every field of one recipient's message together
MAX_NESTING = 64  # blocks inside blocks; deeper templates are refused when they are sent
# What one string may hold for the parser (see _refuse_costly_parse).
MAX_MARKUP = 10_000
MAX_MARKUP_PARENTHESES = 1_000
MAX_MARKUP_CHARS = 10_000  # one tag or output, literals included

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "liquid_deadline", default=None
)


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateLimitError(f"took longer than {RENDER_DEADLINE_SECONDS:g} s")


def _cost(value: Any, budget: int = MAX_VALUE_BYTES) -> int:
    """Roughly how many bytes `value` holds, counted only until it passes `budget`."""
    if isinstance(value, str):
        return len(value)
    if value is None or isinstance(value, bool | float):
        return 8
    if isinstance(value, int):
        return 8 + value.bit_length() // 8
    if isinstance(value, range):
        return 16 * len(value)
    if isinstance(value, Mapping):
        total = 0
        for key, item in value.items():
            total += 16 + _cost(key, budget - total) + _cost(item, budget - total)
            if total > budget:
                break
        return total
    if isinstance(value, list | tuple | set | frozenset):
        total = 8 * len(value)
        for item in value:
            if total > budget:
                break
            total += _cost(item, budget - total)
        return total
    return 16  # drops, undefined: small objects the engine made


def _too_big(what: str) -> TemplateLimitError:
    return TemplateLimitError(f"{what} over {MAX_VALUE_BYTES // 1024 // 1024} MiB")


def _predict(name: str, left: Any, args: tuple) -> None:
    """Refuse a filter whose result would be too big before it is built.

    Only filters that multiply their input need it: joining n items with a long separator,
    splitting into many items, replacing many matches with a long string. Every other
    filter grows its input by a small factor at most, and its result is checked after.
    """
    if name == "join" and isinstance(left, list | tuple | range):
        separator = str(args[0]) if args else " "
        if len(separator) * max(len(left) - 1, 0) + _cost(left) > MAX_VALUE_BYTES:
            raise _too_big("join's result")
    elif name == "split" and isinstance(left, str):
        separator = str(args[0]) if args else " "
        count = len(left) if not separator else left.count(separator) + 1
        if 8 * count + len(left) > MAX_VALUE_BYTES:
            raise _too_big("split's result")
    elif name in ("replace", "replace_last", "replace_first") and isinstance(left, str):
        old = str(args[0]) if args else ""
        new = str(args[1]) if len(args) > 1 else ""
        count = 1 if name != "replace" else (len(left) + 1 if not old else left.count(old))
        if len(left) + count * max(len(new) - len(old), 0) > MAX_VALUE_BYTES:
            raise _too_big(f"{name}'s result")


def _bounded_filter(name: str, func: Any, left: Any, *args: Any, **kwargs: Any) -> Any:
    _check_deadline()
    _predict(name, left, args)
    result = func(left, *args, **kwargs)
    if _cost(result) > MAX_VALUE_BYTES:
        raise _too_big(f"{name}'s result")
    return result


class _BoundedContext(RenderContext):
    """A render context that checks the deadline at every node and bounds every filter."""

    __slots__ = ("_disabled_tags",)

    # NOTE: Node.render reads `context.disabled_tags` before rendering every node, inner
    # loop bodies included: the one hook the engine calls as a render proceeds, so the
    # deadline is checked there. The value itself is kept as the engine set it.
    @property  # type: ignore[override]
    def disabled_tags(self) -> list[str]:
        _check_deadline()
        return self._disabled_tags

    @disabled_tags.setter
    def disabled_tags(self, value: list[str]) -> None:
        self._disabled_tags = value

    def filter(self, name: str, token: Any) -> Any:  # type: ignore[override]
        return functools.partial(_bounded_filter, name, super().filter(name, token))


class _BoundedTemplate(BoundTemplate):
    context_class = _BoundedContext


class _BoundedRange(RangeLiteral):
    __slots__ = ()

    def _make_range(self, start: Any, stop: Any) -> range:
        built = super()._make_range(start, stop)
        if len(built) > MAX_RANGE_ITEMS:
            raise TemplateLimitError(f"range of {len(built):,} items (max {MAX_RANGE_ITEMS:,})")
        return built


def _bound_ranges(expression: Expression) -> None:
    """Make every range check its length when evaluated; refuse a literal one at once."""
    for child in expression.children():
        _bound_ranges(child)
    if type(expression) is RangeLiteral:
        start, stop = expression.start, expression.stop  # type: ignore[attr-defined]
        if isinstance(start, IntegerLiteral) and isinstance(stop, IntegerLiteral):
            length = stop.value - start.value + 1
            if length > MAX_RANGE_ITEMS:
                raise TemplateLimitError(
                    f"range ({start.value}..{stop.value}) of {length:,} items "
                    f"(max {MAX_RANGE_ITEMS:,})"
                )
        expression.__class__ = _BoundedRange


class BrazeEnvironment(Environment):
    # Bounds on what one template may cost per recipient (a template is user input).
    loop_iteration_limit = 10_000
    output_stream_limit = MAX_FIELD_OUTPUT_CHARS
    local_namespace_limit = 100_000
    template_class = _BoundedTemplate

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


def _prepare_nodes(nodes, context: RenderContext, depth: int = 0) -> None:  # type: ignore[no-untyped-def]
    """Swap in blank-aware comparisons and bounded ranges; refuse too deep a nesting."""
    if depth > MAX_NESTING:
        raise TemplateLimitError(f"blocks nested over {MAX_NESTING} deep")
    for node in nodes:
        for expression in node.expressions():
            _blank_aware(expression)
            _bound_ranges(expression)
        _prepare_nodes(node.children(context, include_partials=False), context, depth + 1)


# --- Braze dialect → Liquid ------------------------------------------------------------------

STANDARD = "standard_attribute"
# NOTE: RE2, not `re`: these run over every string of a request before it is accepted, and
# with backtracking `[A-Za-z_][A-Za-z0-9_]*\.` over a long word, or `\{%.*?%\}` over many
# `{%` with no `%}`, take time quadratic in the string (minutes for 1 MiB). RE2 is linear
# and, without longest-match mode, finds the same leftmost-first matches as `re`.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.dot_nl = True  # re.DOTALL


def _re2(pattern: str):  # type: ignore[no-untyped-def]
    return re2.compile(pattern, options=_RE2_OPTIONS)


_NAMESPACED = _re2(r"([A-Za-z_][A-Za-z0-9_]*)\.\$\{([^}]*)\}")
_BARE = _re2(r"\$\{([^}]*)\}")
_TAG = _re2(r"\{%-?.*?-?%\}")
_INNER_OUTPUT = _re2(r"\{\{-?\s*(.*?)\s*-?\}\}")
_ABORT_CALL = _re2(r"(\{%-?\s*abort_message)\s*\(\s*(.*?)\s*\)\s*(-?%\})")
_EXTRAS = _re2(r"(\{%-?\s*message_extras)\s+:key\s+(.*?)\s+:value\s+(.*?)\s*(-?%\})")
MARKUP = re.compile(r"\{\{|\{%|\$\{")
_MARKUP_SPAN = _re2(r"\{\{.*?\}\}|\{%.*?%\}")


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


# --- Content blocks ----------------------------------------------------------------------------
# `{{content_blocks.${name}}}` is replaced by that block's content before the message is
# compiled, once per send (at accept time): the dispatch keeps the expanded copy, so what a
# worker renders is what was accepted. A block may include blocks, CONTENT_BLOCK_MAX_DEPTH
# levels deep; a block that includes itself, an unknown or draft block, or an expansion over
# MAX_FIELD_OUTPUT_CHARS is refused with the field it is in.

CONTENT_BLOCK_MAX_DEPTH = 3
_CONTENT_BLOCK = _re2(r"\{\{-?\s*content_blocks\.\$\{([^}]*)\}\s*-?\}\}")
CONTENT_BLOCK_KIND = "Content Block"


def content_block_names(text: str) -> set[str]:
    """The names of the blocks `text` includes directly."""
    if "content_blocks" not in text:
        return set()
    return {match.group(1).strip() for match in _CONTENT_BLOCK.finditer(text)}


@dataclass
class _Expansion:
    lookup: Callable[[set[str]], Mapping[str, str]]
    contents: dict[str, str | None] = field(default_factory=dict)
    expanded: dict[tuple[str, int], str] = field(default_factory=dict)


def _expand_text(text: str, state: _Expansion, field_path: str, chain: tuple[str, ...]) -> str:
    names = content_block_names(text)
    if not names:
        return text

    def refuse(detail: str) -> LiquidTemplateError:
        return LiquidTemplateError(field_path, detail, kind=CONTENT_BLOCK_KIND)

    if len(chain) >= CONTENT_BLOCK_MAX_DEPTH:
        raise refuse(f"content blocks nested over {CONTENT_BLOCK_MAX_DEPTH} deep "
                     f"({' → '.join(chain)})")
    unknown = names - state.contents.keys()
    if unknown:
        found = state.lookup(unknown)
        state.contents.update({name: found.get(name) for name in unknown})
    produced = [len(text)]

    def replace(match: Any) -> str:
        name = match.group(1).strip()
        if name in chain:
            raise refuse(f"content block {name!r} includes itself")
        content = state.contents.get(name)
        if content is None:
            raise refuse(f"no active content block named {name!r}")
        key = (name, len(chain))
        if key not in state.expanded:
            state.expanded[key] = _expand_text(content, state, field_path, (*chain, name))
        produced[0] += len(state.expanded[key])
        if produced[0] > MAX_FIELD_OUTPUT_CHARS:
            raise refuse(f"over {MAX_FIELD_OUTPUT_CHARS // 1024 // 1024} MiB once expanded")
        return state.expanded[key]

    return _CONTENT_BLOCK.sub(replace, text)


def _expand(value: Any, state: _Expansion, field_path: str) -> Any:
    if isinstance(value, str):
        return _expand_text(value, state, field_path, ())
    if isinstance(value, dict):
        return {k: _expand(v, state, f"{field_path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, state, f"{field_path}[{i}]") for i, v in enumerate(value)]
    return value


def expand_content_blocks(
    value: Any, *, lookup: Callable[[set[str]], Mapping[str, str]], field_path: str
) -> Any:
    """`value` (a message object, or one string) with every content block tag replaced.

    `lookup(names)` answers the content of the active blocks among `names` (one query per
    level of nesting). Raises LiquidTemplateError naming the field.
    """
    return _expand(value, _Expansion(lookup=lookup), field_path)


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


def _refuse_costly_parse(text: str) -> None:
    """Refuse, in one pass, what would make python-liquid's parser itself slow.

    NOTE: templates are parsed in the request, and some shapes cost the engine's lexer and
    expression tokenizer time quadratic in their length (measured: minutes for 1 MiB): a
    `{{` or `{%` nothing closes (the lexer searches for the closer from every opener), very
    many tags, and long runs of parentheses; and a long string literal costs its tokenizer
    about 250 bytes of transient memory a character (65 MiB for 250,000). Such a template
    is invalid or absurd anyway.
    """
    for opener, closer in (("{{", "}}"), ("{%", "%}")):
        if text.rfind(opener) > text.rfind(closer):
            raise LiquidSyntaxError(f"{opener!r} without a closing {closer!r}", token=None)
    markup = text.count("{{") + text.count("{%")
    if markup > MAX_MARKUP:
        raise TemplateLimitError(f"{markup:,} tags and outputs (max {MAX_MARKUP:,})")
    parentheses = 0
    for span in _MARKUP_SPAN.finditer(text):
        markup_text = span.group(0)
        if len(markup_text) > MAX_MARKUP_CHARS:
            raise TemplateLimitError(
                f"a tag or output of {len(markup_text):,} characters (max {MAX_MARKUP_CHARS:,})"
            )
        parentheses += markup_text.count("(")
    if parentheses > MAX_MARKUP_PARENTHESES:
        raise TemplateLimitError(
            f"{parentheses:,} parentheses in tags and outputs (max {MAX_MARKUP_PARENTHESES:,})"
        )


@functools.lru_cache(maxsize=1024)
def _parse(source: str):  # type: ignore[no-untyped-def]
    """Parse one Braze template (cached: callers send the same templates again and again).

    A parsed template holds no render state, so sharing it between requests and threads
    is safe; errors are not cached and are raised again on every call.
    """
    try:
        text = translate(source)
        _refuse_costly_parse(text)
        template = ENV.from_string(text)
        unknown = sorted(set(template.analyze().filters) - set(ENV.filters))
        if unknown:
            raise LiquidSyntaxError(f"unknown filter {unknown[0]!r}", token=None)
        _prepare_nodes(template.nodes, RenderContext(template))
    except RecursionError:
        # The parser recurses once per nested block or parenthesis.
        raise TemplateLimitError(f"blocks nested over {MAX_NESTING} deep") from None
    return template


def _compile(value: Any, field_path: str) -> Any:
    if isinstance(value, str):
        if not MARKUP.search(value):
            return value
        try:
            return _parse(value)
        except TemplateLimitError as exc:
            raise LiquidTemplateError(
                field_path, str(exc.args[0]).removeprefix("over a limit: "),
                kind="Liquid template over a limit",
            ) from None
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


def _render(value: Any, data: dict[str, Any], budget: list[int]) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {k: _render(v, data, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, data, budget) for v in value]
    if hasattr(value, "render"):
        text = value.render(**data)
        budget[0] -= len(text)
        if budget[0] < 0:
            raise TemplateLimitError(
                f"message over {MAX_TOTAL_OUTPUT_CHARS // 1024 // 1024} MiB of text"
            )
        return text
    return value


def render_fields(compiled: Compiled, context: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """Render for one recipient: (rendered tree, message extras).

    Raises AbortMessage when the template calls abort_message, and LiquidError when
    rendering fails (a filter given the wrong type, a resource limit: TemplateLimitError
    for the deadline and the sizes above).
    """
    extras = MessageExtras()
    data = {**context, EXTRAS_GLOBAL: extras}
    token = _deadline.set(time.monotonic() + RENDER_DEADLINE_SECONDS)
    try:
        return _render(compiled.tree, data, [MAX_TOTAL_OUTPUT_CHARS]), extras.values
    except RecursionError:
        raise TemplateLimitError("recursed too deeply") from None
    finally:
        _deadline.reset(token)


def iter_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)
