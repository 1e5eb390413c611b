"""Checking a case's evidence offline: every problem named, one line each.

- the custody chain (`tracker.evidence.custody.read_chain`): a changed, removed, inserted or reordered entry;
- every artefact an entry names: present, decrypting, hashing to its name; no artefact nobody names;
- every timestamp batch: its root recomputed from the log, each entry's inclusion proof, each token checked
  against the certificates kept with it; entries no batch covers yet, and configured TSAs a batch lacks.

Artefacts of a withdrawn case are gone on purpose: the withdrawal entry says so, and they are not missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tracker.evidence import merkle
from tracker.evidence.custody import CustodyEntry, read_chain
from tracker.evidence.due import DUE_FILE
from tracker.evidence.errors import ArtefactDamaged, KeyMissing
from tracker.evidence.stamps import Batch, check_token, read_batches
from tracker.evidence.vault import EvidenceVault, artefacts_of

WITHDRAWN = "withdraw"


@dataclass(slots=True)
class CaseCheck:
    case_id: str
    entries: int = 0
    artefacts: int = 0
    stamped: int = 0
    problems: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # not wrong, not done yet: entries awaiting a timestamp, captures owed

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_case(vault: EvidenceVault, case_id: str, tsa_names: Sequence[str] = ()) -> CaseCheck:
    check = CaseCheck(case_id)
    vault.recover(case_id)
    entries, check.problems = read_chain(vault.custody(case_id))
    check.entries = len(entries)
    withdrawn = any(entry.kind == WITHDRAWN for entry in entries)
    _check_artefacts(vault, case_id, entries, withdrawn, check)
    _check_files(vault, case_id, check)
    try:
        batches = read_batches(vault.folder(case_id) / "timestamps")
    except ValueError as exc:
        check.problems.append(str(exc))
        batches = []
    check_stamps(batches, entries, tsa_names, check)
    if not withdrawn:
        check.pending += [due.describe() for due in vault.owed(case_id).values()]
    return check


def _check_files(vault: EvidenceVault, case_id: str, check: CaseCheck) -> None:
    folder = vault.folder(case_id)
    known = {"custody.jsonl", "artefacts", "staging", "timestamps", ".lock", DUE_FILE}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name not in known:
            check.problems.append(f"{path}: extra (not part of a case's evidence)")
    stamps = folder / "timestamps"
    for path in sorted(stamps.iterdir()) if stamps.is_dir() else []:
        if not (path.name.startswith("batch-") and path.name.endswith(".json")):
            check.problems.append(f"{path}: extra (not a timestamp batch)")


def _check_artefacts(vault: EvidenceVault, case_id: str, entries: Sequence[CustodyEntry], withdrawn: bool, check: CaseCheck) -> None:
    named: dict[str, int] = {}
    for entry in entries:
        for artefact in artefacts_of(entry):
            named.setdefault(artefact.sha256, entry.seq)
    stored = vault.stored(case_id)
    for sha256 in sorted(stored - set(named)):
        check.problems.append(f"artefact {sha256}: extra (no custody entry names it)")
    if withdrawn:
        return
    for sha256, seq in named.items():
        if sha256 not in stored:
            check.problems.append(f"artefact {sha256} of entry {seq}: missing")
            continue
        try:
            for _ in vault.read(case_id, sha256):
                pass
            check.artefacts += 1
        except (ArtefactDamaged, KeyMissing) as exc:
            check.problems.append(f"artefact {sha256} of entry {seq}: {exc}")


def check_stamps(batches: Sequence[Batch], entries: Sequence[CustodyEntry], tsa_names: Sequence[str], check: CaseCheck) -> None:
    by_seq = {entry.seq: entry for entry in entries}
    covered: set[int] = set()
    for batch in batches:
        where = f"timestamp batch {batch.first}-{batch.last}"
        span = [by_seq.get(seq) for seq in range(batch.first, batch.last + 1)]
        if any(entry is None for entry in span):
            check.problems.append(f"{where}: covers entries the log does not have")
            continue
        leaves = [bytes.fromhex(entry.hash) for entry in span if entry is not None]
        root = merkle.root(leaves)
        if root.hex() != batch.root:
            check.problems.append(f"{where}: its root is not that of the entries it covers (an entry or the batch changed)")
        for n, leaf in enumerate(leaves):
            proof = [bytes.fromhex(node) for node in batch.proofs.get(str(batch.first + n), [])]
            if not merkle.verify_inclusion(leaf, n, len(leaves), proof, bytes.fromhex(batch.root)):
                check.problems.append(f"{where}: the inclusion proof of entry {batch.first + n} does not hold")
        if not batch.tokens:
            check.problems.append(f"{where}: holds no token")
        for token in batch.tokens:
            if (why := check_token(token, bytes.fromhex(batch.root))) is not None:
                check.problems.append(f"{where}: {why}")
        for name in sorted(set(tsa_names) - batch.stamped_by()):
            check.pending.append(f"{where}: not yet stamped by {name}")
        covered.update(range(batch.first, batch.last + 1))
    waiting = [entry.seq for entry in entries if entry.seq not in covered]
    if waiting:
        check.pending.append(f"entries {waiting[0]}-{waiting[-1]}: not yet timestamped" if len(waiting) > 1
                             else f"entry {waiting[0]}: not yet timestamped")  # fmt: skip
    check.stamped = len(covered)
