"""`spreadtrace evidence tsa|stamp|verify` on a home with captures, against a real local TSA."""

from __future__ import annotations

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
