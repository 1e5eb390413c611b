"""`spreadtrace case withdraw CASE`: the victim asks for their material to be forgotten."""

from __future__ import annotations

import getpass

import click

from spreadtrace.app import App
from spreadtrace.errors import UserError


@click.command("withdraw")
@click.argument("case_id", metavar="CASE")
@click.option("--reason", required=True, help="Why, as the custody and audit logs will keep it (e.g. \"victim's request, call of 2026-11-20\").")
@click.option("--yes", is_flag=True, help="Do it without asking: nothing of it can be brought back.")
@click.pass_obj
def withdraw(app: App, case_id: str, reason: str, yes: bool) -> None:
    """Delete CASE's hashes, sightings and evidence at the victim's request.

    The evidence key is destroyed with the sealed captures, so no copy anywhere can be opened again. The
    case's name stays, withdrawn, so it is not reopened by mistake; the custody log keeps a tombstone
    entry and the audit log an event, each saying who withdrew it, when and why.
    """
    if not reason.strip():
        raise UserError("--reason must say why the case is withdrawn")
    case = app.store.get_case(case_id)
    if not yes and not click.confirm(f"Delete every hash, sighting and capture of case {case_id}? This cannot be undone",
                                     err=True):  # fmt: skip
        raise click.exceptions.Exit(1)
    actor = getpass.getuser()
    references, sightings = app.tracker.withdraw(case_id, actor=actor, reason=reason)
    vault = app.vault
    captures = case_id in vault.cases()
    if captures:  # a run killed after the store's part finishes here: the tombstone once, then the shredding
        if not any(entry.kind == "withdraw" for entry in vault.custody(case_id).entries()):
            vault.record(case_id, "withdraw", actor, {"reason": reason, "references": references, "sightings": sightings})
        vault.shred(case_id)
    already = " (it was withdrawn before)" if case.withdrawn_at else ""
    app.out.print(f"case {case_id} withdrawn{already}: {references} reference(s) and {sightings} sighting(s) deleted"
                  + (", its evidence key and captures destroyed" if captures else ""), markup=False, highlight=False)  # fmt: skip
