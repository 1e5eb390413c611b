"""The time-stamping authorities a home uses: ``HOME/evidence/tsa.toml``, each with its root certificate
copied beside it (``HOME/evidence/tsa/NAME.pem``), so tokens can still be checked when the TSA's site is gone.

    [[tsa]]
    name = "freetsa"
    url = "https://freetsa.org/tsr"
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import tomli_w
from cryptography import x509

from tracker.evidence.errors import EvidenceError
from tracker.evidence.stamps import TimestampAuthority

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class AuthorityConfigError(EvidenceError):
    """Raised by `load_authorities` and `add_authority` for a TSA entry or certificate that is wrong."""


def load_authorities(folder: Path) -> list[TimestampAuthority]:
    path = folder / "tsa.toml"
    if not path.exists():
        return []
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthorityConfigError(f"{path}: not TOML ({exc})") from None
    found = []
    for n, entry in enumerate(raw.get("tsa", []), start=1):
        if not isinstance(entry, dict) or set(entry) != {"name", "url"}:
            raise AuthorityConfigError(f"{path}: tsa entry {n} must have exactly a name and a url")
        name, url = str(entry["name"]), str(entry["url"])
        found.append(TimestampAuthority(name, url, (_root(folder / "tsa" / f"{name}.pem"),)))
    return found


def add_authority(folder: Path, name: str, url: str, root_pem: Path) -> TimestampAuthority:
    """Register a TSA; its root certificate is copied into the evidence folder."""
    if not _NAME.fullmatch(name):
        raise AuthorityConfigError(f"invalid TSA name {name!r}: 1-64 letters, digits, '.', '_' or '-'")
    if not url.startswith(("http://", "https://")):
        raise AuthorityConfigError(f"TSA URL {url!r}: must be http:// or https://")
    root = _root(root_pem)
    existing = [{"name": a.name, "url": a.url} for a in load_authorities(folder) if a.name != name]
    kept = folder / "tsa" / f"{name}.pem"
    kept.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    kept.write_bytes(root_pem.read_bytes())
    (folder / "tsa.toml").write_text(tomli_w.dumps({"tsa": [*existing, {"name": name, "url": url}]}))
    return TimestampAuthority(name, url, (root,))


def _root(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise AuthorityConfigError(f"{path}: no such certificate") from None
    except ValueError as exc:
        raise AuthorityConfigError(f"{path}: not a PEM certificate ({exc})") from None
