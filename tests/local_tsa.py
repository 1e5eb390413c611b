"""A real RFC 3161 time-stamping authority on loopback, for tests: `openssl ts -reply` behind a small HTTP
handler, with its own CA. ``mode`` makes it fail as real ones do: "down" (connection dropped), "garbage"
(an answer that is no token), "slow" (past the client's timeout)."""

from __future__ import annotations

import datetime
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tracker.evidence.stamps import TimestampAuthority

_CONFIG = """
[ tsa ]
default_tsa = local
[ local ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
# No "certs =" line: rfc3161-client rejects the DER order of a certificate set openssl builds from one.


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificates(folder: Path, name: str) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=30)
    ca_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name(f"{name} root")).issuer_name(_name(f"{name} root"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(later).add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))  # fmt: skip
    tsa = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca.subject)
           .public_key(tsa_key.public_key()).serial_number(x509.random_serial_number()).not_valid_before(now)
           .not_valid_after(later).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
           .sign(ca_key, hashes.SHA256()))  # fmt: skip
    (folder / "tsa.key").write_bytes(tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))  # fmt: skip
    (folder / "tsa.crt").write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    return ca


class LocalTSA:
    def __init__(self, name: str = "local-tsa") -> None:
        self.name = name
        self.mode = "ok"
        self.requests = 0
        self._folder = Path(tempfile.mkdtemp(prefix="tsa-"))
        self.root = _certificates(self._folder, name)
        (self._folder / "serial").write_text("01\n")
        (self._folder / "tsa.cnf").write_text(_CONFIG.format(dir=self._folder))
        self._lock = threading.Lock()
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                query = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                tsa.requests += 1
                if tsa.mode == "down":
                    self.close_connection = True
                    self.connection.close()
                    return
                if tsa.mode == "slow":
                    time.sleep(3)
                reply = b"this is not a token" if tsa.mode == "garbage" else tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def authority(self, timeout: float = 2.0) -> TimestampAuthority:
        return TimestampAuthority(self.name, self.url, (self.root,), timeout)

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory() as work:
            (Path(work) / "q.tsq").write_bytes(query)
            subprocess.run(["openssl", "ts", "-reply", "-config", str(self._folder / "tsa.cnf"), "-queryfile",
                            str(Path(work) / "q.tsq"), "-out", str(Path(work) / "r.tsr")],
                           check=True, capture_output=True)  # fmt: skip
            return (Path(work) / "r.tsr").read_bytes()

    def start(self) -> LocalTSA:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
