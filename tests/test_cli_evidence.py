"""`spreadtrace evidence tsa|stamp|verify` on a home with captures, against a real local TSA."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from spreadtrace.errors import ReturnCode
from tests.local_tsa import LocalTSA
from tracker.evidence.keys import Keyring
from tracker.evidence.vault import Artefact, EvidenceVault


def test_stamp_and_verify_a_home_then_name_the_tampering(run_cli, home, tmp_path):
    vault = EvidenceVault(home / "evidence", Keyring(home / "keys"))
    for n in range(3):
        vault.record("c1", "capture", "analyst@org", {"url": f"http://h.example/p/{n}"},
                     [Artefact("warc", "application/warc", f"capture {n}".encode() * 1000)])  # fmt: skip
    assert run_cli("evidence", "stamp").code == ReturnCode.USER_ERROR  # no TSA yet: says how to add one
    server = LocalTSA("local").start()
    try:
        root = tmp_path / "root.pem"
        root.write_bytes(server.root.public_bytes(Encoding.PEM))
        assert run_cli("evidence", "tsa", "local", server.url, "--root", str(root)).code == 0
        server.mode = "down"
        down = run_cli("evidence", "stamp")
        assert down.code == ReturnCode.UNAVAILABLE
        assert down.err.startswith(f"error: case c1: TSA local ({server.url}) did not answer") and "retried next time" in down.err
        server.mode = "ok"
        assert run_cli("evidence", "stamp").code == 0
    finally:
        server.stop()
    verified = run_cli("evidence", "verify")
    assert verified.code == 0, verified.err
    assert "case c1: 4 custody entries, 3 artefacts checked, 3 entries timestamped: ok" in verified.out
    assert "case c1: entry 4: not yet timestamped" in verified.out  # the timestamp's own entry, in the next batch

    [artefact] = [p for p in (home / "evidence" / "c1" / "artefacts").iterdir()][:1]
    artefact.write_bytes(artefact.read_bytes()[:-1])  # cut short by a byte
    (home / "evidence" / "c1" / "notes.txt").write_text("added later")
    tampered = run_cli("evidence", "verify", "c1")
    assert tampered.code == ReturnCode.FAILED
    damaged, extra = tampered.err.splitlines()
    assert damaged.startswith(f"error: case c1: artefact {artefact.name} of entry") and "does not decrypt" in damaged
    assert extra == f"error: case c1: {home / 'evidence' / 'c1' / 'notes.txt'}: extra (not part of a case's evidence)"
    assert run_cli("evidence", "verify", "nobody").code == ReturnCode.USER_ERROR


def test_withdrawing_a_case_forgets_its_hashes_sightings_and_captures(run_cli, home, tmp_path):
    from tests.test_cli import write_references
    from tracker import open_store
    from tracker.evidence.errors import KeyMissing
    from tracker.evidence.verify import verify_case

    reported = write_references(tmp_path / "reported")
    assert run_cli("case", "add", "c1", str(reported)).code == 0
    assert run_cli("case", "add", "c2", str(reported / "coffee.png")).code == 0
    vault = EvidenceVault(home / "evidence", Keyring(home / "keys"))
    entry = vault.record("c1", "capture", "analyst@org", {"url": "http://h.example/p/1"},
                         [Artefact("warc", "application/warc", b"the capture")])  # fmt: skip
    sha256 = entry.detail["artefacts"][0]["sha256"]
    assert run_cli("case", "withdraw", "c1", "--reason", "").code == ReturnCode.USER_ERROR
    done = run_cli("case", "withdraw", "c1", "--reason", "victim's request", "--yes")
    assert done.code == 0, done.err
    assert done.out.strip() == "case c1 withdrawn: 2 reference(s) and 0 sighting(s) deleted, its evidence key and captures destroyed"
    assert not (home / "keys" / "c1.key").exists() and vault.stored("c1") == set()
    with pytest.raises((KeyMissing, FileNotFoundError)):
        b"".join(vault.read("c1", sha256))
    tombstone = list(vault.custody("c1").entries())[-1]
    assert (tombstone.kind, tombstone.detail["reason"], tombstone.detail["references"]) == ("withdraw", "victim's request", 2)
    assert verify_case(vault, "c1").ok
    again = run_cli("case", "add", "c1", str(reported / "rocket.png"))
    assert again.code == ReturnCode.USER_ERROR and "case 'c1' was withdrawn at" in again.err
    listing = run_cli("case", "list").out
    assert "withdrawn" in listing and "open" in listing
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        assert store.references("c1") == [] and len(store.references("c2")) == 1
        [event] = [e for e in store.audit_events("c1") if e.action == "withdraw"]
        assert event.detail == {"reason": "victim's request", "references": 2, "sightings": 0}
    finally:
        store.close()
