"""`spreadtrace evidence verify|stamp|tsa`: check each case's evidence offline, timestamp its custody log."""

from __future__ import annotations

from pathlib import Path

import click

from spreadtrace.app import App
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.render import print_error
from tracker.evidence.authorities import add_authority, load_authorities
from tracker.evidence.stamps import Stamper
from tracker.evidence.verify import verify_case


@click.group()
def evidence() -> None:
    """The evidentiary record: sealed captures, the chain of custody and its timestamps."""


@evidence.command("verify")
@click.argument("case_id", metavar="[CASE]", required=False)
@click.pass_obj
def verify(app: App, case_id: str | None) -> None:
    """Check CASE's evidence (every case's without CASE), offline: each changed, missing, extra or reordered
    artefact or custody entry, broken proof and bad token is named. Exit 1 if any is found."""
    vault = app.vault
    cases = [case_id] if case_id is not None else vault.cases()
    if case_id is not None and case_id not in vault.cases():
        raise UserError(f"no evidence kept for case {case_id!r} (see: spreadtrace case list)")
    names = [tsa.name for tsa in load_authorities(vault.root)]
    failed = False
    for case in cases:
        check = verify_case(vault, case, names)
        for problem in check.problems:
            print_error(app.err, f"case {case}: {problem}")
        for waiting in check.pending:
            app.out.print(f"case {case}: {waiting}", markup=False, highlight=False)
        verdict = "ok" if check.ok else f"{len(check.problems)} problem(s)"
        app.out.print(f"case {case}: {check.entries} custody entries, {check.artefacts} artefacts checked, "
                      f"{check.stamped} entries timestamped: {verdict}", markup=False, highlight=False)  # fmt: skip
        failed = failed or not check.ok
    if not cases:
        app.out.print("no evidence kept yet")
    if failed:
        raise click.exceptions.Exit(ReturnCode.FAILED)


@evidence.command("stamp")
@click.pass_obj
def stamp(app: App) -> None:
    """Timestamp every case's custody entries not yet timestamped, with every configured TSA (a crawl does
    this after each visit). A TSA that fails is asked again next time; nothing is lost meanwhile."""
    if not load_authorities(app.vault.root):
        raise UserError("no time-stamping authority configured (see: spreadtrace evidence tsa --help)")
    if stamp_all(app):
        raise click.exceptions.Exit(ReturnCode.UNAVAILABLE)


def stamp_all(app: App) -> int:
    """Stamp every case's new custody entries with every configured TSA; the failures (one line each)."""
    vault = app.vault
    authorities = load_authorities(vault.root)
    failures = 0
    for case in vault.cases() if authorities else ():
        for failure in Stamper(vault.custody(case), vault.folder(case) / "timestamps", authorities).run():
            print_error(app.err, f"case {case}: {failure}; retried next time")
            failures += 1
    return failures


@evidence.command("tsa")
@click.argument("name")
@click.argument("url")
@click.option("--root", "root_pem", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The TSA's root certificate (PEM), kept beside the tokens to check them offline.")  # fmt: skip
@click.pass_obj
def tsa(app: App, name: str, url: str, root_pem: Path) -> None:
    """Add (or replace) the time-stamping authority NAME at URL (RFC 3161 over HTTP)."""
    added = add_authority(app.vault.root, name, url, root_pem)
    app.out.print(f"TSA {added.name}: {added.url}", markup=False, highlight=False)
