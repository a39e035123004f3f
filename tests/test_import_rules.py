"""DESIGN.md's import rules hold over the source (scripts/check_imports.py), and the
checker itself finds what it claims to find."""

from __future__ import annotations

import ast

from scripts import check_imports


def test_the_source_keeps_every_import_rule():
    assert check_imports.problems() == []


def test_a_cycle_of_any_length_is_found_and_a_chain_is_not():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert check_imports.find_cycles(graph) == [["a", "b", "c"]]
    assert check_imports.find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_an_import_in_a_function_needs_a_comment_saying_why(tmp_path, monkeypatch):
    package = tmp_path / "messaging"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "late.py").write_text(
        "def f():\n"
        "    import json\n"
        "    # psycopg is optional here: SQLite installs lack it\n"
        "    import psycopg\n"
        "    import csv  # heavy, and only the export needs it\n"
    )
    monkeypatch.setattr(check_imports, "ROOT", tmp_path)
    found = {(i.target, i.in_function, i.explained)
             for i in check_imports.imports_of(package / "late.py")}
    assert found == {("json", True, False), ("psycopg", True, True), ("csv", True, True)}


def test_relative_imports_resolve_to_the_module_they_name():
    node = ast.parse("from ..models import App").body[0]
    assert check_imports._resolve("messaging.channels.push", False, node) == "messaging.models"
    node = ast.parse("from . import links").body[0]
    assert check_imports._resolve("messaging.tracking", True, node) == "messaging.tracking"
