"""`spreadtrace evidence verify|stamp|tsa|export|verify-wacz`: check each case's evidence offline, timestamp
its custody log, export a case as a signed WACZ and check such a file."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from spreadtrace.app import App
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.progress import file_progress
from spreadtrace.render import print_error, print_warning
from tracker.chromium import ChromiumMissing, find_chromium
from tracker.evidence.authorities import add_authority, load_authorities
from tracker.evidence.stamps import Stamper
from tracker.evidence.verify import verify_case
from tracker.evidence.wacz import ExportRequest, export_steps, export_wacz, record_export
from tracker.evidence.wacz_check import check_wacz


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


@evidence.command("export")
@click.argument("case_id", metavar="CASE")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True, help="The WACZ file to write.")
@click.option("--actor", help="Who exports it, as the custody and audit logs and the report keep it [default: the user running it].")
@click.option("--even-if-damaged", is_flag=True,
              help="Export evidence that fails verification; the report says so on its first page.")  # fmt: skip
@click.pass_obj
def export(app: App, case_id: str, output: Path, actor: str | None, even_if_damaged: bool) -> None:
    """Write CASE's evidence to a WACZ file: its captures' WARCs, screenshots, CDXJ index and pages, the
    chain of custody and its timestamps, and an evidence report (HTML and PDF), signed with this home's
    key and timestamped by every configured TSA. The case is verified first; the export is a custody
    entry and an audit event."""
    actor = actor or getpass.getuser()
    case = app.store.get_case(case_id)
    if case.withdrawn_at:
        raise UserError(f"case {case_id!r} was withdrawn at {case.withdrawn_at}: its evidence is destroyed, nothing to export")
    vault = app.vault
    if case_id not in vault.cases():
        raise UserError(f"no evidence kept for case {case_id!r} yet (crawls capture each sighting)")
    if not output.parent.is_dir():
        raise UserError(f"{output.parent}: no such folder")
    authorities = load_authorities(vault.root)
    check = verify_case(vault, case_id, [tsa.name for tsa in authorities])
    for problem in check.problems:
        print_error(app.err, f"case {case_id}: {problem}")
    if not check.ok and not even_if_damaged:
        print_error(app.err, f"case {case_id}: its evidence fails verification, nothing exported "
                             "(--even-if-damaged exports it anyway, saying so)")  # fmt: skip
        raise click.exceptions.Exit(ReturnCode.FAILED)
    try:
        chromium = find_chromium(app.settings["SPREADTRACE_CHROMIUM"] or None)
    except ChromiumMissing as exc:
        chromium = None
        print_warning(app.err, f"no PDF report, the HTML one only: {exc}")
    from crawler import __version__

    request = ExportRequest(case_id, actor, f"spreadtrace/{__version__}", authorities, chromium, check)
    with file_progress(app.err, "exporting", export_steps(vault, case_id), unit="items") as advance:
        done = export_wacz(vault, request, output, advance)
    record_export(vault, app.store, done, case_id, actor)
    say = app.out.print
    say(f"{output}: {done.captures} capture(s), {done.screenshots} screenshot(s), {done.pages} page(s), {done.size:,} bytes, "
        f"SHA-256 {done.sha256}", markup=False, highlight=False)  # fmt: skip
    say(f"signed by key {done.signer}", markup=False, highlight=False)
    for stamp in done.stamps:
        say(f"timestamped by {stamp['tsa']} at {stamp['time']}", markup=False, highlight=False)
    for failure in done.stamp_failures:
        print_warning(app.err, f"{failure}: the bundle is not timestamped by it")
    if not authorities:
        print_warning(app.err, "not timestamped: no time-stamping authority configured (see: spreadtrace evidence tsa --help)")


@evidence.command("verify-wacz")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--signer", metavar="FINGERPRINT", help="Also require the signature to be this key's (as the evidence report names it).")
@click.pass_obj
def verify_wacz(app: App, file: Path, signer: str | None) -> None:
    """Check an exported WACZ offline: every file against datapackage.json, its digest, signature and
    timestamps, its pages and index, and the custody log in it. Exit 1 naming each problem."""
    check = check_wacz(file, signer)
    for problem in check.problems:
        print_error(app.err, f"{file.name}: {problem}")
    for note in check.notes:
        app.out.print(f"{file.name}: {note}", markup=False, highlight=False)
    stamps = ", ".join(f"{s['tsa']} at {s['time']}" for s in check.stamps) or "nobody"
    verdict = "ok" if check.ok else f"{len(check.problems)} problem(s)"
    app.out.print(f"{file.name}: case {check.case_id}, {check.pages} page(s), signed by key {check.signer}, timestamped by {stamps}: "
                  f"{verdict}", markup=False, highlight=False)  # fmt: skip
    if not check.ok:
        raise click.exceptions.Exit(ReturnCode.FAILED)
