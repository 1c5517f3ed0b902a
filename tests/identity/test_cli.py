"""`rasad users ...` and `rasad tokens ...`, run through their Typer apps on a project.

The apps are mounted here on a host app, as cli/app.py mounts them; errors surface as the
exceptions cli/app.py maps to exit codes (PermissionDenied and InputError: exit 2).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from rasad import Project
from rasad.cli import tokens_cmd, users_cmd
from rasad.cli._context import State
from rasad.errors import InputError, PermissionDenied
from rasad.identity import authenticate

from ._helpers import database_text, snapshot

host = typer.Typer()
host.add_typer(users_cmd.app, name="users")
host.add_typer(tokens_cmd.app, name="tokens")


class Rasad:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str = "tester") -> Result:
        state = State(project_dir=self.project.root)
        try:
            return self.runner.invoke(host, list(args), obj=state, env={"RASAD_USER": user})
        finally:
            state.close()

    def ok(self, *args: str, user: str = "tester") -> Result:
        result = self(*args, user=user)
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    def json(self, *args: str, user: str = "tester") -> Any:
        return json.loads(self.ok(*args, "--json", user=user).stdout)


@pytest.fixture
def rasad(project: Project) -> Rasad:
    return Rasad(project)


def test_users_add_grant_revoke_disable_and_list(rasad: Rasad) -> None:
    added = rasad.json("users", "add", "amal@bank.example", "--role", "model_risk_officer")
    assert (added["name"], added["kind"], added["roles"]) == (
        "amal@bank.example", "person", ["approver", "auditor"])
    assert "Added service ci-bot: data_scientist." in rasad.ok(
        "users", "add", "ci-bot", "--service", "-r", "data_scientist").stdout
    assert rasad.json("users", "grant", "ci-bot", "deployer")["roles"] == [
        "data_scientist", "deployer"]
    assert rasad.json("users", "revoke", "ci-bot", "data_scientist")["roles"] == ["deployer"]
    assert "Disabled person amal@bank.example" in rasad.ok(
        "users", "disable", "amal@bank.example").stdout
    listed = {p["name"]: p for p in rasad.json("users", "list")}
    assert sorted(listed) == ["amal@bank.example", "ci-bot", "tester"]
    assert listed["amal@bank.example"]["disabled_at"] is not None
    table = rasad.ok("users", "list").stdout
    assert "ci-bot" in table and "deployer" in table


def test_a_viewer_is_refused_and_nothing_changes(project: Project, rasad: Rasad) -> None:
    rasad.ok("users", "add", "bob", "--role", "viewer")
    before = snapshot(project)
    for args in (("users", "add", "eve", "--role", "admin"), ("users", "grant", "bob", "admin"),
                 ("users", "disable", "tester"), ("tokens", "create", "bob")):
        result = rasad(*args, user="bob")
        assert isinstance(result.exception, PermissionDenied), result.output
        assert "'bob' (os-user; roles: viewer) may not" in str(result.exception)
        assert result.exception.exit_code == 2
    assert snapshot(project) == before


def test_a_token_is_printed_once_with_a_warning_and_never_listed(project: Project,
                                                                 rasad: Rasad) -> None:
    rasad.ok("users", "add", "ci-bot", "--service", "--role", "data_scientist")
    result = rasad.ok("tokens", "create", "ci-bot", "--expires", "30d")
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rsd_")
    assert "shown once and cannot be shown again" in result.stderr
    assert token not in result.stderr
    principal = authenticate(project.context, token)
    assert principal.name == "ci-bot"
    listed = rasad.json("tokens", "list")
    assert [t["id"] for t in listed] == [principal.auth.removeprefix("token:")]
    assert listed[0]["expires_at"] is not None and set(listed[0]) == {
        "id", "principal", "roles", "created_by", "created_at", "expires_at", "revoked_at"}
    secret = token.split("_", 2)[2]
    assert secret not in rasad.ok("tokens", "list").stdout
    assert secret not in json.dumps(listed) and secret not in database_text(project)

    revoked = rasad.json("tokens", "revoke", listed[0]["id"])
    assert revoked["revoked_at"] is not None
    assert rasad.json("tokens", "list", "ci-bot")[0]["revoked_at"] == revoked["revoked_at"]


def test_token_create_json_holds_the_token_once(project: Project, rasad: Rasad) -> None:
    created = rasad.json("tokens", "create", "tester", "--role", "viewer", "--expires", "never")
    assert created["info"]["roles"] == ["viewer"] and created["info"]["expires_at"] is None
    assert authenticate(project.context, created["token"]).roles == ("viewer",)


@pytest.mark.parametrize(("args", "message"), [
    (("users", "add", "bob", "--role", "root"), "Unknown role 'root'"),
    (("tokens", "create", "tester", "--expires", "1y"), "Token lifetime '1y'"),
])
def test_bad_arguments_are_input_errors(rasad: Rasad, args: tuple[str, ...],
                                        message: str) -> None:
    result = rasad(*args)
    assert isinstance(result.exception, InputError) and message in str(result.exception)
