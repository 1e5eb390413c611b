"""The evidentiary store: sealed artefacts, the chain of custody, RFC 3161 timestamps from a real local TSA,
and `verify_case` naming each kind of tampering."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from tests.local_tsa import LocalTSA
from tracker.evidence import merkle
from tracker.evidence.custody import CustodyEntry, CustodyLog, read_chain
from tracker.evidence.errors import ArtefactDamaged, KeyMissing
from tracker.evidence.keys import Keyring
from tracker.evidence.sealed import HEADER, SEGMENT, seal, unseal
from tracker.evidence.stamps import Stamper
from tracker.evidence.vault import Artefact, EvidenceVault
from tracker.evidence.verify import verify_case

PICTURE = bytes(range(256)) * 700  # stands in for a capture: 179,200 bytes, three segments


@pytest.fixture
def vault(tmp_path) -> EvidenceVault:
    return EvidenceVault(tmp_path / "evidence", Keyring(tmp_path / "keys"))


@pytest.fixture
def tsa():
    server = LocalTSA("tsa-one").start()
    yield server
    server.stop()


def capture(vault: EvidenceVault, case_id: str = "c1", body: bytes = PICTURE, url: str = "http://h.example/p/1") -> str:
    entry = vault.record(case_id, "capture", "analyst@org", {"url": url},
                         [Artefact("warc", "application/warc", body), Artefact("metadata", "application/json", b"{}")])  # fmt: skip
    return str(entry.detail["artefacts"][0]["sha256"])


# -- sealing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT])
def test_sealed_files_open_to_their_bytes_at_every_segment_boundary(size):
    plain = os.urandom(size)
    sealed = io.BytesIO()
    sha256, length = seal(io.BytesIO(plain), sealed, b"k" * 32, b"case:c1")
    assert (sha256, length) == (hashlib.sha256(plain).hexdigest(), size)
    assert b"".join(unseal(io.BytesIO(sealed.getvalue()), b"k" * 32, b"case:c1")) == plain
    cut = sealed.getvalue()[: HEADER + (SEGMENT + 16) * (size // SEGMENT)]  # cut at the last full segment
    if len(cut) < len(sealed.getvalue()):
        with pytest.raises(ArtefactDamaged, match="does not decrypt"):
            b"".join(unseal(io.BytesIO(cut), b"k" * 32, b"case:c1"))


def test_a_sealed_file_opens_only_with_its_case_key_and_context():
    sealed = io.BytesIO()
    seal(io.BytesIO(PICTURE), sealed, b"k" * 32, b"case:c1")
    assert PICTURE[:64] not in sealed.getvalue()  # nothing of the material readable at rest
    for key, context in ((b"x" * 32, b"case:c1"), (b"k" * 32, b"case:c2")):
        with pytest.raises(ArtefactDamaged):
            b"".join(unseal(io.BytesIO(sealed.getvalue()), key, context))


# -- the custody log -----------------------------------------------------------------------------------


def test_the_custody_chain_holds_across_processes_appending_at_once(tmp_path):
    path = tmp_path / "custody.jsonl"
    writer = ("import sys; from pathlib import Path; from tracker.evidence.custody import CustodyLog\n"
              "log = CustodyLog(Path(sys.argv[1]), 'c1')\n"
              "for n in range(25): log.append('capture', sys.argv[2], {'n': n})\n")  # fmt: skip
    workers = [subprocess.Popen([sys.executable, "-c", writer, str(path), f"w{k}"]) for k in range(4)]
    assert [w.wait() for w in workers] == [0] * 4
    entries, problems = read_chain(CustodyLog(path, "c1"))
    assert problems == [] and [e.seq for e in entries] == list(range(1, 101))


def test_a_torn_last_line_is_dropped_by_the_next_append(tmp_path):
    log = CustodyLog(tmp_path / "custody.jsonl", "c1")
    log.append("capture", "a", {"n": 1})
    with open(log.path, "ab") as torn:  # a writer killed halfway through its line
        torn.write(b'{"seq": 2, "at": "2026-')
    assert [e.seq for e in log.entries()] == [1]
    log.append("capture", "a", {"n": 2})
    entries, problems = read_chain(log)
    assert problems == [] and [e.detail["n"] for e in entries] == [1, 2]


# -- Merkle proofs -------------------------------------------------------------------------------------


def test_every_leaf_of_every_tree_size_has_a_proof_that_holds_only_for_it():
    for size in range(1, 34):
        leaves = [hashlib.sha256(bytes([size, n])).digest() for n in range(size)]
        top = merkle.root(leaves)
        for n in range(size):
            proof = merkle.inclusion_proof(leaves, n)
            assert merkle.verify_inclusion(leaves[n], n, size, proof, top)
            assert not merkle.verify_inclusion(b"\x00" * 32, n, size, proof, top)
            if size > 1:
                assert not merkle.verify_inclusion(leaves[n], (n + 1) % size, size, proof, top)


# -- the vault and verify ------------------------------------------------------------------------------


def test_captures_are_kept_sealed_and_verify_passes(vault):
    sha256 = capture(vault)
    capture(vault, body=PICTURE[::-1], url="http://h.example/p/2")
    assert b"".join(vault.read("c1", sha256)) == PICTURE
    stored = (vault.folder("c1") / "artefacts" / sha256).read_bytes()
    assert PICTURE[:64] not in stored and not (vault.folder("c1") / "staging").exists() or not any((vault.folder("c1") / "staging").iterdir())
    check = verify_case(vault, "c1")
    assert check.ok, check.problems
    assert (check.entries, check.artefacts) == (2, 3)  # the two captures' metadata are the same bytes: kept once
    assert check.pending == ["entries 1-2: not yet timestamped"]


def test_verify_names_a_flipped_byte_a_removed_artefact_and_an_added_file(vault):
    first = capture(vault)
    second = capture(vault, body=PICTURE[::-1])
    path = vault.folder("c1") / "artefacts" / first
    damaged = bytearray(path.read_bytes())
    damaged[HEADER + 100] ^= 1
    path.write_bytes(bytes(damaged))
    (vault.folder("c1") / "artefacts" / second).unlink()
    (vault.folder("c1") / "artefacts" / ("ab" * 32)).write_bytes(b"planted")
    problems = verify_case(vault, "c1").problems
    assert problems == [f"artefact {'ab' * 32}: extra (no custody entry names it)",
                        f"artefact {first} of entry 1: {path}: segment 0 does not decrypt (changed, truncated, or not this case's)",
                        f"artefact {second} of entry 2: missing"]  # fmt: skip


@pytest.mark.parametrize("tamper", ["change", "rewrite", "remove", "reorder"])
def test_verify_names_a_changed_removed_or_reordered_custody_entry(vault, tamper):
    for n in range(4):
        vault.record("c1", "reveal", "analyst@org", {"n": n})
    log = vault.folder("c1") / "custody.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    if tamper == "change":
        lines[1] = lines[1].replace(b'"n":1', b'"n":7')
    elif tamper == "rewrite":  # changed, and its hash made again to match: the next entry still names the old one
        entry = replace(CustodyEntry.from_line(lines[1]), detail={"n": 7})
        lines[1] = replace(entry, hash=entry.computed_hash()).line()
    elif tamper == "remove":
        del lines[2]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    log.write_bytes(b"".join(lines))
    problems = verify_case(vault, "c1").problems
    expected = {
        "change": ["custody.jsonl entry 2: changed (its hash does not match its content)"],
        "rewrite": ["custody.jsonl entry 3: does not chain to entry 2 (the log was rewritten around it)"],
        "remove": ["custody.jsonl entry 3: missing (removed)"],
        "reorder": ["custody.jsonl entry 2: out of place (found after entry 3)"],
    }
    assert problems == expected[tamper]


def test_crawlers_recording_one_case_at_once_keep_every_capture(vault):
    def record(n: int) -> None:
        capture(vault, body=PICTURE + n.to_bytes(2, "big"), url=f"http://h.example/p/{n}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(record, range(24)))
    check = verify_case(vault, "c1")
    assert check.ok and (check.entries, check.artefacts) == (24, 25), check.problems


def test_a_record_killed_before_its_entry_leaves_nothing_and_one_killed_after_is_finished(vault):
    staging = vault.folder("c1") / "staging"
    key = vault.keyring.key("c1", create=True)
    vault._stage(staging if staging.mkdir(parents=True) is None else staging, key, "c1", Artefact("warc", "application/warc", b"orphan"))
    named = capture(vault)  # recovers first: the orphan, which no entry names, is deleted
    assert vault.stored("c1") == {named, hashlib.sha256(b"{}").hexdigest()}
    # Killed after the entry was written, before the move: the next run finishes it.
    artefacts = vault.folder("c1") / "artefacts"
    os.rename(artefacts / named, staging / named)
    assert named not in vault.stored("c1")
    assert verify_case(vault, "c1").ok and named in vault.stored("c1")


def test_a_timestamp_batch_whose_writer_was_killed_is_dropped_and_a_live_writers_kept(vault):
    capture(vault)
    stamps = vault.folder("c1") / "timestamps"
    stamps.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    torn, live = stamps / f".batch-00000001-00000001.json.{dead.pid}", stamps / f".batch-00000001-00000001.json.{os.getpid()}"
    torn.write_text('{"half": ')
    live.write_text('{"half": ')
    check = verify_case(vault, "c1")  # recovers first
    assert not torn.exists() and live.exists()
    assert check.problems == [f"{live}: extra (not a timestamp batch)"]


def test_a_shredded_case_opens_no_more_and_verifies_as_withdrawn(vault):
    sha256 = capture(vault)
    vault.record("c1", "withdraw", "analyst@org", {"reason": "at the victim's request"})
    vault.shred("c1")
    with pytest.raises(KeyMissing, match="no key for case 'c1'"):
        b"".join(vault.read("c1", sha256))
    check = verify_case(vault, "c1")
    assert check.ok, check.problems
    assert [e.kind for e in vault.custody("c1").entries()] == ["capture", "withdraw"]


# -- trusted time --------------------------------------------------------------------------------------


def stamper(vault: EvidenceVault, *servers: LocalTSA) -> Stamper:
    return Stamper(vault.custody("c1"), vault.folder("c1") / "timestamps", [s.authority() for s in servers])


def test_entries_are_timestamped_by_a_real_tsa_and_verify_offline(vault, tsa):
    capture(vault)
    capture(vault, body=PICTURE[::-1])
    assert stamper(vault, tsa).run() == []
    [batch] = stamper(vault, tsa).batches()
    assert (batch.first, batch.last, [t["tsa"] for t in batch.tokens]) == (1, 2, ["tsa-one"])
    tsa.stop()  # verification needs no network
    check = verify_case(vault, "c1", ["tsa-one"])
    assert check.ok, check.problems
    assert check.stamped == 2 and check.pending == ["entry 3: not yet timestamped"]  # the timestamp's own entry


def test_a_tsa_outage_loses_nothing_and_the_next_run_stamps_what_waited(vault, tsa):
    capture(vault)
    tsa.mode = "down"
    [failure] = stamper(vault, tsa).run()
    assert failure.startswith(f"TSA tsa-one ({tsa.url}) did not answer")
    assert stamper(vault, tsa).batches() == []
    assert verify_case(vault, "c1", ["tsa-one"]).pending == ["entry 1: not yet timestamped"]
    capture(vault, body=b"later")
    tsa.mode = "ok"
    assert stamper(vault, tsa).run() == []
    [batch] = stamper(vault, tsa).batches()
    assert (batch.first, batch.last) == (1, 2)
    assert verify_case(vault, "c1", ["tsa-one"]).ok


def test_a_tsa_answering_garbage_is_asked_again_over_the_same_root(vault, tsa):
    other = LocalTSA("tsa-two").start()
    try:
        capture(vault)
        other.mode = "garbage"
        [failure] = stamper(vault, tsa, other).run()
        assert "tsa-two" in failure and "no valid token" in failure
        check = verify_case(vault, "c1", ["tsa-one", "tsa-two"])
        assert check.ok and "timestamp batch 1-1: not yet stamped by tsa-two" in check.pending
        other.mode = "ok"
        assert stamper(vault, tsa, other).run() == []
        [batch] = stamper(vault, tsa, other).batches()[:1]
        assert sorted(batch.stamped_by()) == ["tsa-one", "tsa-two"]
        assert verify_case(vault, "c1", ["tsa-one", "tsa-two"]).problems == []
    finally:
        other.stop()


def test_verify_names_a_swapped_token_and_an_edited_root(vault, tsa):
    capture(vault)
    stamper(vault, tsa).run()
    capture(vault, body=b"second")
    stamper(vault, tsa).run()
    first, second = sorted((vault.folder("c1") / "timestamps").glob("batch-*.json"))
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    a["tokens"], b["tokens"] = b["tokens"], a["tokens"]
    first.write_text(json.dumps(a))
    second.write_text(json.dumps(b))
    problems = verify_case(vault, "c1", ["tsa-one"]).problems
    assert len(problems) == 2 and all("its token from tsa-one does not verify" in p for p in problems), problems
    b["tokens"] = a["tokens"]  # the second batch's own token back, but its root edited to match the swap
    b["root"] = base64.b16encode(os.urandom(32)).decode().lower()
    second.write_text(json.dumps(b))
    problems = verify_case(vault, "c1", ["tsa-one"]).problems
    assert any(p.startswith("timestamp batch 2-3: its root is not that of the entries it covers") for p in problems), problems


# -- WARC ----------------------------------------------------------------------------------------------


def test_a_capture_warc_holds_both_exchanges_with_sha256_digests_that_check(tmp_path):
    from warcio.archiveiterator import ArchiveIterator

    from tracker.evidence.warc import write_warc
    from tracker.models import HttpExchange

    media = tmp_path / "body"
    media.write_bytes(PICTURE)
    page = b"<html><body><img src='/m.jpg'></body></html>"
    exchanges = [
        HttpExchange("http://h.example/p/1?x=1", "2026-11-22T10:00:00Z", 200, (("Content-Type", "text/html"),), page,
                     (("User-Agent", "spreadtrace/test"),), ip="127.0.0.5"),
        HttpExchange("http://h.example/m.jpg", "2026-11-22T10:00:01Z", 200, (("Content-Type", "image/jpeg"),), media,
                     ip="127.0.0.5"),
        HttpExchange("http://h.example/m.jpg?v=2", "2026-11-22T10:00:02Z", 304, payload_sha256=hashlib.sha256(PICTURE).hexdigest()),
    ]  # fmt: skip
    out = tmp_path / "capture.warc.gz"
    with open(out, "wb") as target:
        refs = write_warc(target, exchanges, {"software": "spreadtrace", "operator": "org / analyst"}, "capture.warc.gz")
    assert [r.url for r in refs] == ["http://h.example/p/1?x=1", "http://h.example/m.jpg", "http://h.example/m.jpg?v=2"]
    records = []
    with open(out, "rb") as stream:
        iterator = ArchiveIterator(stream, check_digests="raise")
        for record in iterator:
            records.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                            record.rec_headers.get_header("WARC-IP-Address"), record.rec_headers.get_header("WARC-Payload-Digest"),
                            record.rec_headers.get_header("WARC-Block-Digest"), record.content_stream().read()))  # fmt: skip
    assert [r[0] for r in records] == ["warcinfo", "response", "request", "response", "request", "revisit", "request"]
    assert b"software: spreadtrace" in records[0][5]
    page_response, media_response = records[1], records[3]
    assert page_response[1:3] == ("http://h.example/p/1?x=1", "127.0.0.5") and page_response[5] == page
    assert media_response[5] == PICTURE
    expected = "sha256:" + base64.b32encode(hashlib.sha256(PICTURE).digest()).decode()
    assert media_response[3] == expected and media_response[4].startswith("sha256:")
    assert records[5][3] == expected  # the 304: a revisit naming the bytes by their digest


def test_what_an_earlier_visit_owes_is_known_whatever_the_recorder_is_asked_first(vault):
    from tracker.evidence import Collector, EvidenceRecorder
    from tracker.models import Sighting
    from tracker.states import Status

    def sighting(number: int) -> Sighting:
        return Sighting(number, "c1", 1, f"http://h.example/m/{number}.jpg", f"http://h.example/p/{number}", "h.example",
                        None, None, "2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z", Status.ONLINE, 0, "pdq")  # fmt: skip

    vault.owe("c1", 5, "screenshot", "login wall: http://h.example/p/5 shows a password field", failed=True)
    recorder = EvidenceRecorder(vault, Collector("org", "ana", "spreadtrace/test"))  # the next visit's
    recorder.owe(sighting(9), "capture", "capture failed: OSError: boom", failed=True)  # a new sighting fails first
    assert recorder.owes(sighting(5)) == vault.owed("c1")[5]  # still owed from before, and known to be
    recorder.settle(sighting(5))
    assert set(vault.owed("c1")) == {9} and recorder.owes(sighting(5)) is None
