"""Trusted time for custody entries: RFC 3161 tokens over Merkle roots of batches of entries.

After a visit, the entries of each case not yet stamped form a batch; the batch's Merkle root
(`tracker.evidence.merkle`, over the entries' hashes) is sent to every configured time-stamping
authority. The batch file (``timestamps/batch-FIRST-LAST.json``) keeps the root, each entry's inclusion
proof, and each TSA's whole response with the certificates needed to check it offline, years later: the
chain the TSA sent and the root configured for it. A TSA that is down, slow or answers anything but a
valid token leaves its part of the batch to the next run; a batch no TSA answered is not written, and
its entries wait for the next one.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import (HashAlgorithm, TimeStampResponse, TimestampRequestBuilder, VerificationError,
                            VerifierBuilder, decode_timestamp_response)  # fmt: skip

from tracker.clock import format_utc
from tracker.evidence import merkle
from tracker.evidence.custody import CustodyEntry, CustodyLog
from tracker.evidence.errors import TimestampFailed

# A token is a few KB; anything far larger is not one.
MAX_RESPONSE_BYTES = 256 * 1024
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class TimestampAuthority:
    """A TSA: its name (as entries and reports show it), URL, and the root certificate(s) its tokens are
    checked against."""

    name: str
    url: str
    roots: tuple[x509.Certificate, ...]
    timeout: float = TIMEOUT_SECONDS

    def stamp(self, message: bytes) -> tuple[TimeStampResponse, bytes]:
        """A verified token over ``message`` (its SHA-256), and the response's DER. Raises TimestampFailed."""
        request = TimestampRequestBuilder().data(message).hash_algorithm(HashAlgorithm.SHA256).build()
        http = urllib.request.Request(self.url, data=request.as_bytes(), method="POST",
                                      headers={"Content-Type": "application/timestamp-query"})  # fmt: skip
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as answer:  # noqa: S310 - the URL is configured
                body = answer.read(MAX_RESPONSE_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TimestampFailed(f"TSA {self.name} ({self.url}) did not answer: {exc}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise TimestampFailed(f"TSA {self.name} ({self.url}) answered with over {MAX_RESPONSE_BYTES:,} bytes")
        try:
            response = decode_timestamp_response(body)
            builder = VerifierBuilder.from_request(request)
            for root in self.roots:
                builder = builder.add_root_certificate(root)
            builder.build().verify_message(response, message)
        except (ValueError, VerificationError) as exc:
            raise TimestampFailed(f"TSA {self.name} ({self.url}) answered with no valid token: {exc}") from None
        return response, body


@dataclass(slots=True)
class Batch:
    """A run of entries, ``first`` to ``last``, under one Merkle root, and the tokens over that root."""

    first: int
    last: int
    root: str
    proofs: dict[str, list[str]]  # entry number -> its inclusion proof, hex
    tokens: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last, "root": self.root, "proofs": self.proofs, "tokens": self.tokens}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Batch:
        return cls(int(raw["first"]), int(raw["last"]), str(raw["root"]), dict(raw["proofs"]), list(raw["tokens"]))

    def stamped_by(self) -> set[str]:
        return {str(token["tsa"]) for token in self.tokens}


def batch_of(entries: Sequence[CustodyEntry]) -> Batch:
    leaves = [bytes.fromhex(entry.hash) for entry in entries]
    proofs = {str(entry.seq): [node.hex() for node in merkle.inclusion_proof(leaves, n)] for n, entry in enumerate(entries)}
    return Batch(entries[0].seq, entries[-1].seq, merkle.root(leaves).hex(), proofs)


class Stamper:
    """Stamps a case's new custody entries with every configured TSA, and re-asks those that failed."""

    def __init__(self, log: CustodyLog, folder: Path, authorities: Sequence[TimestampAuthority]) -> None:
        self.log = log
        self.folder = folder
        self.authorities = authorities

    def batches(self) -> list[Batch]:
        return read_batches(self.folder)

    def run(self) -> list[str]:
        """Stamp what is not stamped yet; one line per TSA that failed (the work waits for the next run)."""
        failures: list[str] = []
        batches = self.batches()
        for batch in batches:  # an earlier batch some TSA did not stamp: ask it again, over the same root
            missing = [tsa for tsa in self.authorities if tsa.name not in batch.stamped_by()]
            if missing:
                failures += self._ask(batch, missing)
                self._write(batch)
        done = max((b.last for b in batches), default=0)
        entries = [entry for entry in self.log.entries(after=done) if entry.seq > done]  # the stamped ones unparsed
        if not entries or not self.authorities:
            return failures
        batch = batch_of(entries)
        failures += self._ask(batch, self.authorities)
        if batch.tokens:  # no TSA answered: nothing written, these entries join the next batch
            self._write(batch)
            self.log.append("timestamp", "spreadtrace", {
                "first": batch.first, "last": batch.last, "root": batch.root,
                "tokens": [{"tsa": t["tsa"], "time": t["time"]} for t in batch.tokens]})  # fmt: skip
        return failures

    def _ask(self, batch: Batch, authorities: Sequence[TimestampAuthority]) -> list[str]:
        failures = []
        for tsa in authorities:
            try:
                response, body = tsa.stamp(bytes.fromhex(batch.root))
            except TimestampFailed as exc:
                failures.append(str(exc))
                continue
            batch.tokens.append(token_record(tsa, response, body))
        return failures

    def _write(self, batch: Batch) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.folder / f"batch-{batch.first:08d}-{batch.last:08d}.json"
        staged = path.with_name(f".{path.name}.{os.getpid()}")
        staged.write_text(json.dumps(batch.to_json(), indent=1, sort_keys=True))
        with open(staged, "rb") as synced:
            os.fsync(synced.fileno())
        os.replace(staged, path)


def token_record(tsa: TimestampAuthority, response: TimeStampResponse, body: bytes) -> dict[str, Any]:
    """A token as kept (in a batch, in a WACZ's digest): the whole response, with the chain the TSA sent and
    the root configured for it, so that `check_token` needs nothing else, offline."""
    chain = [x509.load_der_x509_certificate(der) for der in response.signed_data.certificates]
    return {
        "tsa": tsa.name, "url": tsa.url, "time": _gen_time(response.tst_info.gen_time),
        "response": base64.b64encode(body).decode(), "nonce": response.tst_info.nonce,
        "certificates": [c.public_bytes(Encoding.PEM).decode() for c in chain],
        "roots": [c.public_bytes(Encoding.PEM).decode() for c in tsa.roots],
    }  # fmt: skip


def read_batches(folder: Path) -> list[Batch]:
    """The batches kept in ``folder``, in entry order. Raises ValueError naming a file that is not a batch."""
    found = []
    for path in sorted(folder.glob("batch-*.json")) if folder.is_dir() else []:
        try:
            found.append(Batch.from_json(json.loads(path.read_text())))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a timestamp batch ({exc})") from None
    return sorted(found, key=lambda b: b.first)


def check_token(token: dict[str, Any], root: bytes) -> str | None:
    """Why ``token`` does not prove ``root`` existed at its time, or None: checked offline, against the
    root certificates kept with it."""
    try:
        response = decode_timestamp_response(base64.b64decode(token["response"]))
        builder = VerifierBuilder(nonce=int(token["nonce"]))
        for pem in token["roots"]:
            builder = builder.add_root_certificate(x509.load_pem_x509_certificate(pem.encode()))
        builder.build().verify_message(response, root)
    except (KeyError, TypeError, ValueError, VerificationError) as exc:
        return f"its token from {token.get('tsa', '?')} does not verify: {exc}"
    if _gen_time(response.tst_info.gen_time) != token.get("time"):
        return f"its token from {token.get('tsa', '?')} is dated {response.tst_info.gen_time}, not {token.get('time')}"
    return None


def _gen_time(moment: datetime) -> str:
    return format_utc(moment)
