"""The command line: parses, loads settings, wires the parts. No logic of its own."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from spreadtrace.app import App, default_home
from spreadtrace.commands.alerts import alerts
from spreadtrace.commands.case import case
from spreadtrace.commands.crawl import crawl
from spreadtrace.commands.demo import demo, demo_home
from spreadtrace.commands.evidence import evidence
from spreadtrace.commands.hash import hash_files
from spreadtrace.commands.report import report
from spreadtrace.commands.review import review
from spreadtrace.commands.scan import scan
from spreadtrace.commands.serve import serve
from spreadtrace.commands.site import site
from spreadtrace.commands.takedown import takedown
from spreadtrace.commands.user import user
from spreadtrace.commands.watch import watch
from spreadtrace.errors import ReturnCode, describe, one_line, return_code_for

# Files and folders the CLI creates are its user's alone: the record names cases, labels and where reported
# material was found. The store and the home are also made private explicitly (installs made before this).
PRIVATE_UMASK = 0o077


def _parse_setting(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    parsed = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: expected NAME=VALUE")
        parsed[name.strip()] = setting
    return parsed


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Where spreadtrace keeps its data [env SPREADTRACE_HOME; default: the per-user data folder].")
@click.option("--sites", "sites_file", type=click.Path(path_type=Path), default=None,
              help="Site registry file [default: HOME/sites.toml].")
@click.option("-s", "--set", "overrides", multiple=True, callback=_parse_setting, metavar="NAME=VALUE",
              help="Override a setting (see docs/settings.md); repeatable.")  # fmt: skip
@click.version_option(package_name="spreadtrace")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, sites_file: Path | None, overrides: dict[str, str]) -> None:
    """spreadtrace: track where reported images are re-uploaded and how they spread."""
    if home is None:
        use_temporary = ctx.invoked_subcommand == "demo" and "SPREADTRACE_HOME" not in os.environ
        home = demo_home() if use_temporary else default_home()
    if sites_file is not None:
        overrides["SPREADTRACE_SITES_FILE"] = str(sites_file.expanduser().resolve())
    app = App(home, overrides)
    ctx.obj = app
    ctx.call_on_close(app.end)


for command in (case, site, crawl, watch, scan, hash_files, report, review, evidence, takedown, alerts, serve, user, demo):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exceptions become one ``error:`` line and a ReturnCode."""
    previous_umask = os.umask(PRIVATE_UMASK)
    try:
        # Without standalone mode click returns an Exit's code rather than raising it.
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="spreadtrace", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
        click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
        return ReturnCode.USER_ERROR
    except click.ClickException as exc:
        click.echo(f"error: {one_line(exc.format_message())}", err=True)
        return ReturnCode.USER_ERROR
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return ReturnCode.FAILED
    except Exception as exc:
        code = return_code_for(exc)
        if code is None:
            raise
        click.echo(f"error: {describe(exc)}", err=True)
        return code
    finally:
        os.umask(previous_umask)  # main() also runs in-process (tests, the demo's callers)
    return code if isinstance(code, int) else ReturnCode.OK


def run() -> None:
    """The console script."""
    sys.exit(main())
