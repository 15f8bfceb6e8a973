"""One command path (issue 13 step 1): each writing service declares every command once, in
`handlers.COMMANDS`, and its HTTP routes, process managers and scheduled checks all run commands
through `servicekit.command_table.run_command`; nothing but the app imports the HTTP modules."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from servicekit.auth import Principal, Role
from servicekit.command_api import CommandRoute, command_router
from servicekit.command_table import CommandTable, UndeclaredCommand, run_command
from servicekit.commands import CommandContext
from tests.edge.apps import built

ROOT = Path(__file__).resolve().parents[1]
WRITERS = ("registry", "incubation", "supervision")
SCHEDULED_CHECK = "/commands/run-scheduled-checks"  # runs checks.scheduled_check, not a command


def commands_of(service: str) -> CommandTable:
    table: CommandTable = importlib.import_module(f"services.{service}.handlers").COMMANDS
    return table


def declared_commands(service: str) -> set[type[BaseModel]]:
    """Every command class the service's domain declares (subclasses of its `_Command`)."""
    module = importlib.import_module(f"services.{service}.domain.commands")
    base: type[BaseModel] = module._Command
    return {
        value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, base)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


def command_routes(service: str) -> list[APIRoute]:
    app = built(service)
    found = (context.original_route for context in iter_route_contexts(app.routes))
    return [r for r in found if isinstance(r, APIRoute) and r.path.startswith("/commands/")]


@pytest.mark.parametrize("service", WRITERS)
def test_every_command_is_declared_once_in_the_table(service: str) -> None:
    assert set(commands_of(service)) == declared_commands(service)


@pytest.mark.parametrize("service", WRITERS)
def test_every_command_route_runs_a_declared_command_on_the_one_path(service: str) -> None:
    names = {kind.__name__ for kind in commands_of(service)}
    routes = [r for r in command_routes(service) if r.path != SCHEDULED_CHECK]
    assert routes
    for route in routes:
        assert route.endpoint.__module__ == "servicekit.command_api", route.path
        assert route.name in names, route.path


def _imports(path: Path) -> set[str]:
    """The modules a file imports, and `module.name` for each name it imports from one."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _service_modules(service: str) -> list[Path]:
    return sorted((ROOT / "services" / service).rglob("*.py"))


@pytest.mark.parametrize("service", WRITERS)
def test_only_the_app_imports_the_http_modules(service: str) -> None:
    package = ROOT / "services" / service
    http = f"services.{service}.http"
    for path in _service_modules(service):
        if path.name == "app.py" or package / "http" in path.parents:
            continue
        wrong = {m for m in _imports(path) if m == http or m.startswith(f"{http}.")}
        wrong |= {m for m in _imports(path) if m.startswith(f"services.{service}.api")}
        assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}"


def test_nothing_but_the_table_runs_the_four_steps() -> None:
    """`servicekit.commands.execute` is called by `run_command` alone: a route, a process manager
    or a check that called it (or kept its own handler) would be a second path."""
    callers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("services", "servicekit")
        for path in (ROOT / folder).rglob("*.py")
        if "servicekit.commands.execute" in _imports(path)
    ]
    assert callers == ["servicekit/command_table.py"]


async def test_an_undeclared_command_is_refused_before_anything_runs() -> None:
    class Undeclared(BaseModel):
        uscc: str

    context = CommandContext(
        principal=Principal("tester", Role.CITY_ADMIN),
        correlation_id="c",
        occurred_at=dt.datetime.now(dt.UTC),
    )
    with pytest.raises(UndeclaredCommand):
        # Neither store nor connection is reached: the table is read first.
        await run_command(commands_of("registry"), None, None, Undeclared(uscc="x"), context)  # type: ignore[arg-type]
    with pytest.raises(UndeclaredCommand):
        command_router(commands_of("registry"), [CommandRoute("undeclared", Undeclared, "-")])


def _dependency_calls(dependant: Dependant) -> list[Any]:
    return [
        call
        for sub in dependant.dependencies
        for call in (sub.call, *_dependency_calls(sub))
        if call is not None
    ]


@pytest.mark.parametrize("service", WRITERS)
def test_no_dependency_of_a_command_route_runs_in_a_thread(service: str) -> None:
    """Issue 12: FastAPI runs a plain `def` dependency in its thread pool, a hand-off to another
    thread and back on every request (7% of the registry's loop under wrk, and the worker's CPU)."""
    for route in command_routes(service):
        for call in _dependency_calls(route.dependant):
            target = call if inspect.isfunction(call) else type(call).__call__
            assert inspect.iscoroutinefunction(target), f"{route.path}: {call!r}"
