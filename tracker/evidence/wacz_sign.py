"""Signing a WACZ as the WACZ signing spec's anonymous signature describes (wacz-auth 0.1.0), with the home's
own signing key.

``datapackage-digest.json`` holds ``signedData``: ``hash`` (the ``sha256:HEX`` of datapackage.json, as the
digest holds it), ``created`` (the datapackage's own ``created``, which py-wacz's validate compares),
``software``, ``version`` (of the signing spec), ``signature`` and ``publicKey``, and nothing else (the spec
forbids other properties). The signature is ECDSA P-256 with SHA-256 over the ``hash`` string's UTF-8 bytes,
as the raw ``r || s`` pair WebCrypto makes (ArchiveWeb.page's form; verifiers take it as "binary"), base64;
the public key is its DER SubjectPublicKeyInfo, base64.

The key is the home's, one for every export (``HOME/keys/signing.pem``, beside the case keys and not one of
them: destroying a case's key must not change who signed the bundles already handed out). An anonymous
signature proves only that the holder of that key made the bundle: the reader checks the key's
fingerprint, which the evidence report and the export's custody entry name, against the one the
organisation publishes. The bundle's time comes from the TSAs, not from the signature.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from tracker.evidence.errors import EvidenceError
from tracker.evidence.keys import write_secret_once

KEY_FILE = "signing.pem"
SIGNING_SPEC_VERSION = "0.1.0"
SIGNED_FIELDS = frozenset({"hash", "created", "software", "version", "signature", "publicKey"})
_COORDINATE = 32  # bytes of r and of s on P-256


class SigningKeyDamaged(EvidenceError):
    """Raised by `signing_key` for a key file that is not an ECDSA P-256 private key."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: ec.EllipticCurvePrivateKey

    @property
    def public_der(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_der)

    def sign(self, hash_text: str, created: str, software: str) -> dict[str, str]:
        """The ``signedData`` of a datapackage whose digest is ``hash_text`` (``sha256:HEX``)."""
        r, s = decode_dss_signature(self.private.sign(hash_text.encode(), ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
        return {"hash": hash_text, "created": created, "software": software, "version": SIGNING_SPEC_VERSION,
                "signature": base64.b64encode(raw).decode(), "publicKey": base64.b64encode(self.public_der).decode()}  # fmt: skip


def fingerprint_of(public_der: bytes) -> str:
    """A key's name as people compare it: the SHA-256 of its DER SubjectPublicKeyInfo, hex."""
    return hashlib.sha256(public_der).hexdigest()


def signing_key(folder: Path) -> SigningKey:
    """The home's signing key in ``folder`` (the keys folder), made on first use (0600)."""
    path = folder / KEY_FILE
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        pem = _create(path)
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyDamaged(f"{path}: not a signing key ({exc}); move it away to make a new one") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
        raise SigningKeyDamaged(f"{path}: not an ECDSA P-256 key; move it away to make a new one")
    return SigningKey(private)


def _create(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())  # fmt: skip
    return write_secret_once(path, pem)  # two first exports at once: one key wins, both use it


def signature_problem(signed: Mapping[str, Any], hash_text: str, created: str | None) -> str | None:
    """Why ``signed`` (a digest's ``signedData``) is not a valid anonymous signature of ``hash_text``, or None."""
    if set(signed) != SIGNED_FIELDS:
        return f"signedData must hold exactly {', '.join(sorted(SIGNED_FIELDS))}"
    if signed["hash"] != hash_text:
        return "signedData signs another hash than datapackage.json's"
    if created is not None and signed["created"] != created:
        return "signedData's created is not datapackage.json's"
    try:
        key = serialization.load_der_public_key(base64.b64decode(signed["publicKey"], validate=True))
        signature = base64.b64decode(signed["signature"], validate=True)
    except (ValueError, TypeError) as exc:
        return f"signedData's key or signature is unreadable ({exc})"
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return "signedData's publicKey is not an ECDSA key"
    width = (key.curve.key_size + 7) // 8
    if len(signature) == 2 * width:  # WebCrypto's raw r || s; otherwise DER, as other signers write it
        signature = encode_dss_signature(int.from_bytes(signature[:width], "big"), int.from_bytes(signature[width:], "big"))
    try:
        key.verify(signature, hash_text.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not verify (datapackage.json or the signature was changed)"
    return None
