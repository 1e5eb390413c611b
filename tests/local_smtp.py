"""A real SMTP server on loopback (aiosmtpd) for the tests: it keeps what it receives, offers STARTTLS
with its own certificate, and can refuse, drop the connection or stall, as servers do."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    mode: str = "ok"  # "ok", "refuse" (550 on DATA), "drop" (close at DATA), "slow" (stall at DATA)
    received: list[Received] = field(default_factory=list)
    stall_s: float = 5.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's naming)
        if self.mode == "refuse":
            return "550 5.7.1 Message rejected by policy"
        if self.mode == "drop":
            server.transport.close()
            return "421 closing"
        if self.mode == "slow":
            await asyncio.sleep(self.stall_s)
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 2.0.0 queued"


class LocalSMTP:
    """``LocalSMTP().start()``; ``.port``, ``.ca_file`` (trust it for STARTTLS), ``.received``, ``.mode``."""

    def __init__(self, *, starttls: bool = True) -> None:
        self.handler = _Handler()
        self._folder = Path(tempfile.mkdtemp(prefix="smtp-"))
        context = None
        if starttls:
            cert, key = self._folder / "cert.pem", self._folder / "key.pem"
            _self_signed(cert, key)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
        self.ca_file = str(self._folder / "cert.pem") if starttls else ""
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=_free_port(), tls_context=context,
                                     require_starttls=starttls, auth_require_tls=True)  # fmt: skip

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def mode(self) -> str:
        return self.handler.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.handler.mode = value

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def settings(self, **extra: str) -> dict[str, str]:
        """SPREADTRACE_SMTP_* settings that reach this server."""
        return {"SPREADTRACE_SMTP_HOST": "127.0.0.1", "SPREADTRACE_SMTP_PORT": str(self.port),
                "SPREADTRACE_SMTP_CA": self.ca_file, "SPREADTRACE_SMTP_STARTTLS": "required" if self.ca_file else "off",
                "SPREADTRACE_SMTP_FROM": "takedowns@helpline.example", **extra}  # fmt: skip

    def start(self) -> LocalSMTP:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    """A port free now (aiosmtpd's controller cannot bind port 0: it connects to its port to check it is up)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _self_signed(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
