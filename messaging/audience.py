"""Connected Audience filters of /messages/send (spec §3.1): check, translate to SQL, match.

A filter tree is a single filter or `{"AND": [...]}` / `{"OR": [...]}` of filters and trees.
`audience_normalize` checks a tree at request time (raising `AudienceError` naming the path);
`audience_q` turns a checked tree into a `Q` over `Profile` so the database does the
filtering while the delivery run pages through profiles (messaging.delivery.paging).

Three-valued SQL logic: every positive leaf is "the value has the right JSON type AND the
comparison holds". The type guard is never NULL (a missing key is typed "missing"), and when
it holds the comparison runs on a present value, so a leaf is TRUE or FALSE, never NULL; the
negative comparisons (not_equal, does_not_include_value, …) are plain NOTs of positive leaves
and include profiles that lack the attribute, as Braze's segment filters do.

Regex and time comparisons are evaluated in Python, per batch, while paging: regex dialects
differ between PostgreSQL (POSIX) and SQLite (Python's `re` via Django), and times are stored
as ISO 8601 text with any offset, whose string order is not time order. For those leaves the
SQL query keeps a superset (the type guard only); `audience_matches` then decides exactly.
AND/OR are monotone (there is no NOT node), so a superset per leaf gives a superset overall.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import re2
from django.db.models import CharField, F, Func, Q, Value
from django.db.models.fields.json import KeyTransform, compile_json_path
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact, In
from django.utils import timezone

from config.api.times import parse_time

from .models import Profile

MAX_DEPTH = 10  # nesting levels of AND/OR
MAX_FILTERS = 100  # leaves in one tree: each one is a clause of the delivery query

STRING = {"equals", "not_equal", "matches_regex", "does_not_match_regex"}
ARRAY = {"includes_value", "does_not_include_value"}
NUMERIC = {
    "equals",
    "not_equal",
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
}
BOOLEAN = {"equals", "does_not_equal"}
TIME_DAYS = {
    "less_than_x_days_ago",
    "greater_than_x_days_ago",
    "less_than_x_days_in_the_future",
    "greater_than_x_days_in_the_future",
}
TIME_INSTANT = {"after", "before"}
PRESENCE = {"exists", "does_not_exist"}
COMPARISONS = STRING | ARRAY | NUMERIC | BOOLEAN | TIME_DAYS | TIME_INSTANT | PRESENCE
SUBSCRIPTION_VALUES = ("opted_in", "subscribed", "unsubscribed")
PYTHON_COMPARISONS = {"matches_regex", "does_not_match_regex"} | TIME_DAYS | TIME_INSTANT

# Patterns are matched with RE2, in time linear in the attribute's length: no backtracking,
# so `^(a+)+$` costs what `^a+$` does. RE2 has no backreferences or lookaround; such a
# pattern is refused when the request comes in. Errors are returned, not logged by RE2.
MAX_REGEX_LENGTH = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@functools.lru_cache(maxsize=256)
def _regex(pattern: str):  # type: ignore[no-untyped-def]
    return re2.compile(pattern, options=_RE2_OPTIONS)


def _regex_problem(pattern: str) -> str | None:
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"a regular expression may be at most {MAX_REGEX_LENGTH} characters"
    try:
        _regex(pattern)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        return (
            f"invalid regular expression: {detail} (patterns use RE2 syntax, which has no "
            "backreferences or lookaround)"
        )
    return None


class AudienceError(ValueError):
    """A filter tree is refused; the message starts with its path (`audience.AND[1]…`)."""


# --- Request-time check ----------------------------------------------------------------------


def audience_normalize(tree: Any, path: str = "audience") -> dict[str, Any]:
    """Check a whole filter tree; return it with `after`/`before` values as ISO 8601 UTC."""
    count = [0]
    return _node(tree, path, 0, count)


def _node(node: Any, path: str, depth: int, count: list[int]) -> dict[str, Any]:
    if not isinstance(node, dict) or len(node) != 1:
        raise AudienceError(
            f"{path}: must be an object with exactly one key: AND, OR, custom_attribute, "
            "push_subscription_status, email_subscription_status or last_used_app"
        )
    ((kind, body),) = node.items()
    if kind in ("AND", "OR"):
        if depth >= MAX_DEPTH:
            raise AudienceError(f"{path}: nested more than {MAX_DEPTH} levels deep")
        if not isinstance(body, list) or not body:
            raise AudienceError(f"{path}.{kind}: must be a non-empty list of filters")
        return {
            kind: [
                _node(item, f"{path}.{kind}[{i}]", depth + 1, count) for i, item in enumerate(body)
            ]
        }
    count[0] += 1
    if count[0] > MAX_FILTERS:
        raise AudienceError(f"{path}: more than {MAX_FILTERS} filters in one audience")
    where = f"{path}.{kind}"
    if not isinstance(body, dict):
        raise AudienceError(f"{where}: must be an object")
    if kind == "custom_attribute":
        return {kind: _custom_attribute(body, where)}
    if kind in ("push_subscription_status", "email_subscription_status"):
        _only(body, {"comparison", "value"}, where)
        if body.get("comparison") not in ("is", "is_not"):
            raise AudienceError(f"{where}.comparison: must be 'is' or 'is_not'")
        if body.get("value") not in SUBSCRIPTION_VALUES:
            raise AudienceError(f"{where}.value: must be one of {', '.join(SUBSCRIPTION_VALUES)}")
        return {kind: {"comparison": body["comparison"], "value": body["value"]}}
    if kind == "last_used_app":
        raise AudienceError(
            f"{where}: not supported: Herald does not record when a user last used an app"
        )
    raise AudienceError(
        f"{path}: unknown filter {kind!r}; use AND, OR, custom_attribute, "
        "push_subscription_status or email_subscription_status"
    )


def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in body:
        if key not in allowed:
            raise AudienceError(f"{where}.{key}: unknown field")


def _custom_attribute(body: dict[str, Any], where: str) -> dict[str, Any]:
    _only(body, {"custom_attribute_name", "comparison", "value"}, where)
    name = body.get("custom_attribute_name")
    if not isinstance(name, str) or not name:
        raise AudienceError(f"{where}.custom_attribute_name: must be a non-empty string")
    if name.isdigit():
        # Django's JSON key lookups read an all-digit key as an array index.
        raise AudienceError(f"{where}.custom_attribute_name: all-digit names are not supported")
    comparison = body.get("comparison")
    if comparison not in COMPARISONS:
        raise AudienceError(
            f"{where}.comparison: unknown comparison {comparison!r}"
            if isinstance(comparison, str)
            else f"{where}.comparison: required (a string)"
        )
    checked = {"custom_attribute_name": name, "comparison": comparison}
    if comparison in PRESENCE:
        return checked  # `value` is meaningless here and ignored
    value = body.get("value")
    at = f"{where}.value"
    if value is None:
        raise AudienceError(f"{at}: required for comparison {comparison!r}")
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if comparison in ("matches_regex", "does_not_match_regex"):
        if not isinstance(value, str):
            raise AudienceError(f"{at}: must be a regular expression (string)")
        problem = _regex_problem(value)
        if problem:
            raise AudienceError(f"{at}: {problem}")
    elif comparison in (
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
    ):
        if not is_number:
            raise AudienceError(f"{at}: must be a number for {comparison!r}")
    elif comparison in TIME_DAYS:
        if not is_number or value < 0:
            raise AudienceError(f"{at}: must be a number of days (0 or more)")
    elif comparison in TIME_INSTANT:
        moment = _time_or_none(value)
        if moment is None:
            raise AudienceError(f"{at}: must be an ISO 8601 time, e.g. 2030-01-01T00:00:00Z")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, UTC)
        value = moment.astimezone(UTC).isoformat()
    elif comparison == "does_not_equal":
        if not isinstance(value, bool):
            raise AudienceError(f"{at}: must be true or false for 'does_not_equal'")
    elif not (isinstance(value, str | bool) or is_number):
        # equals, not_equal, includes_value, does_not_include_value
        raise AudienceError(f"{at}: must be a string, number or boolean")
    if comparison == "not_equal" and isinstance(value, bool):
        raise AudienceError(f"{at}: booleans use 'does_not_equal'")
    checked["value"] = value
    return checked


def audience_needs_python(tree: dict[str, Any]) -> bool:
    """Whether some leaf is decided in Python (regex, time) rather than by SQL."""
    ((kind, body),) = tree.items()
    if kind in ("AND", "OR"):
        return any(audience_needs_python(item) for item in body)
    return kind == "custom_attribute" and body["comparison"] in PYTHON_COMPARISONS


# --- SQL ---------------------------------------------------------------------------------------


class _JsonKind(Func):
    """The JSON type of one custom attribute, the same words on both databases:
    string, number, boolean, array, object, null — or NULL when the key is absent."""

    output_field = CharField()

    def __init__(self, name: str) -> None:
        super().__init__(F("custom_attributes"))
        self.name = name

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        # SQLite: json_type() says integer/real/text/true/false; fold them into JSON's words.
        column, params = compiler.compile(self.source_expressions[0])
        path = compile_json_path([self.name])
        sql = (
            f"CASE JSON_TYPE({column}, %s) WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number'"
            f" WHEN 'text' THEN 'string' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean'"
            f" ELSE JSON_TYPE({column}, %s) END"
        )
        return sql, (*params, path, *params, path)

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        column, params = compiler.compile(self.source_expressions[0])
        return f"JSONB_TYPEOF({column} -> %s)", (*params, self.name)


class _ArrayIncludes(Func):
    """The attribute is a JSON array holding `value` (same type: "1" is not 1)."""

    output_field = CharField()  # used only inside a boolean comparison, see _includes()

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(F("custom_attributes"))
        self.name = name
        self.value = value

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        # SQLite has no JSON containment operator: look through json_each's rows.
        column, params = compiler.compile(self.source_expressions[0])
        path = compile_json_path([self.name])
        if isinstance(self.value, bool):
            types, value = ("true",) if self.value else ("false",), None
        elif isinstance(self.value, str):
            types, value = ("text",), self.value
        else:
            types, value = ("integer", "real"), self.value
        marks = ", ".join("%s" for _ in types)
        match = "" if value is None else " AND value = %s"
        sql = (
            f"CASE WHEN EXISTS (SELECT 1 FROM JSON_EACH({column}, %s) WHERE type IN ({marks})"
            f"{match}) THEN 'yes' ELSE 'no' END"
        )
        extra_params = () if value is None else (value,)
        return sql, (*params, path, *types, *extra_params)

    def as_postgresql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        column, params = compiler.compile(self.source_expressions[0])
        sql = f"CASE WHEN ({column} -> %s) @> %s::jsonb THEN 'yes' ELSE 'no' END"
        return sql, (*params, self.name, json.dumps([self.value]))


def _kind(name: str) -> Coalesce:
    return Coalesce(_JsonKind(name), Value("missing"), output_field=CharField())


def _is(name: str, *kinds: str) -> Q:
    return Q(In(_kind(name), list(kinds)))


def _compare(name: str, lookup: str, value: Any) -> Q:
    # KeyTransform takes any key verbatim (dots, spaces, "__"), unlike a `custom_attributes__…`
    # string. Its column must be resolved up front, so Django's JSON lookup prepares `value`
    # as JSON, as it does for keyword filters.
    column = Profile._meta.get_field("custom_attributes").get_col(Profile._meta.db_table)
    key = KeyTransform(name, column)
    return Q(key.get_lookup(lookup)(key, value))


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"


_ORDER = {
    "greater_than": "gt",
    "greater_than_or_equal_to": "gte",
    "less_than": "lt",
    "less_than_or_equal_to": "lte",
}


def _custom_attribute_q(leaf: dict[str, Any]) -> Q:
    name, comparison, value = (
        leaf["custom_attribute_name"],
        leaf["comparison"],
        leaf.get("value"),
    )
    if comparison == "exists":
        return ~_is(name, "missing", "null")
    if comparison == "does_not_exist":
        return _is(name, "missing", "null")
    if comparison in ("equals", "not_equal", "does_not_equal"):
        kind = _value_kind(value)
        equal = _is(name, kind) & _compare(name, "exact", value)
        return equal if comparison == "equals" else ~equal
    if comparison in _ORDER:
        return _is(name, "number") & _compare(name, _ORDER[comparison], value)
    if comparison in ARRAY:
        includes = _is(name, "array") & Q(Exact(_ArrayIncludes(name, value), "yes"))
        return includes if comparison == "includes_value" else ~includes
    if comparison == "matches_regex":
        return _is(name, "string")  # superset; decided in Python (module docstring)
    if comparison == "does_not_match_regex":
        return Q()  # superset: anything may not match
    # Times: stored as ISO text or Braze's {"$time": …}; decided in Python.
    return _is(name, "string", "object")


def audience_q(tree: dict[str, Any]) -> Q:
    """A Q over Profile matching the tree (a superset where audience_needs_python)."""
    ((kind, body),) = tree.items()
    if kind in ("AND", "OR"):
        query = Q() if kind == "AND" else Q(pk__in=[])
        for item in body:
            query = (query & audience_q(item)) if kind == "AND" else (query | audience_q(item))
        return query
    if kind == "custom_attribute":
        return _custom_attribute_q(body)
    column = "push_subscribe" if kind == "push_subscription_status" else "email_subscribe"
    same = Q(**{column: body["value"]})
    return same if body["comparison"] == "is" else ~same


# --- Python (exact; used per batch when a leaf cannot be expressed in SQL) -------------------


def _time_or_none(value: Any) -> datetime | None:
    """An ISO 8601 time (config.api.times.parse_time), or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, dict) and set(value) == {"$time"}:
        value = value["$time"]
    moment = _time_or_none(value)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


def _custom_attribute_matches(leaf: dict[str, Any], attributes: dict[str, Any]) -> bool:
    name, comparison, value = (
        leaf["custom_attribute_name"],
        leaf["comparison"],
        leaf.get("value"),
    )
    present = attributes.get(name)
    if comparison == "exists":
        return present is not None
    if comparison == "does_not_exist":
        return present is None
    if comparison in ("equals", "not_equal", "does_not_equal"):
        equal = (
            present is not None
            and _value_kind(present) == _value_kind(value)
            and isinstance(present, str | int | float)
            and present == value
        )
        return equal if comparison == "equals" else not equal
    if comparison in _ORDER:
        if not isinstance(present, int | float) or isinstance(present, bool):
            return False
        return {
            "gt": present > value,
            "gte": present >= value,
            "lt": present < value,
            "lte": present <= value,
        }[_ORDER[comparison]]
    if comparison in ARRAY:
        includes = isinstance(present, list) and any(
            _value_kind(item) == _value_kind(value) and item == value
            for item in present
            if isinstance(item, str | int | float)
        )
        return includes if comparison == "includes_value" else not includes
    if comparison in ("matches_regex", "does_not_match_regex"):
        found = isinstance(present, str) and _regex(value).search(present) is not None
        return found if comparison == "matches_regex" else not found
    moment = _as_time(present)
    if moment is None:
        return False
    now = timezone.now()
    if comparison == "after":
        return moment > _as_time(value)  # type: ignore[operator]
    if comparison == "before":
        return moment < _as_time(value)  # type: ignore[operator]
    days = timedelta(days=value)
    return {
        "less_than_x_days_ago": now - days < moment <= now,
        "greater_than_x_days_ago": moment < now - days,
        "less_than_x_days_in_the_future": now <= moment < now + days,
        "greater_than_x_days_in_the_future": moment > now + days,
    }[comparison]


def audience_matches(tree: dict[str, Any], profile: Any) -> bool:
    """Whether one profile matches the tree (exact, in Python)."""
    ((kind, body),) = tree.items()
    if kind == "AND":
        return all(audience_matches(item, profile) for item in body)
    if kind == "OR":
        return any(audience_matches(item, profile) for item in body)
    if kind == "custom_attribute":
        return _custom_attribute_matches(body, profile.custom_attributes or {})
    state = (
        profile.push_subscribe if kind == "push_subscription_status" else (profile.email_subscribe)
    )
    return (state == body["value"]) == (body["comparison"] == "is")
