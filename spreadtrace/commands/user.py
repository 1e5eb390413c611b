"""`spreadtrace user add`: dashboard accounts."""

from __future__ import annotations

import sys

import click

from dashboards.web.accounts import AccountError, add_account
from spreadtrace.app import App
from spreadtrace.errors import UserError
from tracker.states import Role


@click.group()
def user() -> None:
    """Dashboard accounts: admins see the audit log, analysts reveal and decide, viewers look."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_obj
def user_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add the account NAME; its password is asked for (twice), or read from standard input."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        added = add_account(app.store, name, Role(role), password)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    app.out.print(f"user {added.name} added ({added.role})")
