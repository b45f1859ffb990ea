"""The layers of dialer/ hold: nothing in it imports Flask or Celery, the pure rules import no
database, socket or HTTP code and none of the other layers, and the command modules import no
circle back through the command group."""

import ast
from pathlib import Path

import pytest

DIALER = Path(__file__).resolve().parents[2] / "dialer"
WEB_OR_TASKS = ("flask", "celery", "kombu", "api", "workers")
IO = ("sqlalchemy", "psycopg2", "redis", "requests", "socket", "urllib3", "freeswitchESL", "subprocess",
      "dialer.adapters", "dialer.flows", "dialer.ops")


def imported(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def starts_with_any(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("path", sorted(DIALER.rglob("*.py")), ids=lambda p: str(p.relative_to(DIALER)))
def test_nothing_in_dialer_imports_flask_celery_or_the_api(path):
    assert [n for n in imported(path) if starts_with_any(n, WEB_OR_TASKS)] == []


@pytest.mark.parametrize("path", sorted((DIALER / "rules").glob("*.py")), ids=lambda p: p.name)
def test_a_pure_rule_imports_no_io_and_no_other_layer(path):
    assert [n for n in imported(path) if starts_with_any(n, IO)] == []


def test_the_command_modules_never_import_the_command_group():
    commands = [p for p in (DIALER / "ops").glob("*.py") if p.name != "cli.py"]
    assert commands
    for path in commands:
        assert "dialer.ops.cli" not in imported(path), path.name
