"""Sending e-mail (takedown notices, alerts) over SMTP, as configured: the organisation's own relay, with
STARTTLS when it offers it (required unless told otherwise), credentials from the environment, never
from a file in the home.

`send` either hands the message to the server or raises `MailFailed` saying why in one line (refused,
timed out, connection dropped); it never retries by itself: whether to send again is the caller's (a
notice is sent again only when asked, so nothing goes out twice).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any


class MailFailed(RuntimeError):
    """The message was not accepted; ``str`` says why, in one line."""


class MailNotConfigured(MailFailed):
    """No SMTP server configured."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: str = "required"  # "required", "optional" (use it if offered) or "off" (a relay on loopback)
    user: str = ""
    password: str = ""
    timeout_s: float = 30.0
    sender: str = ""  # the From: address when a message has none
    ca_file: str = ""  # a CA (PEM) to trust for STARTTLS beside the system's: an organisation's own relay

    @classmethod
    def from_settings(cls, settings: Any) -> SmtpSettings:
        """From SPREADTRACE_SMTP_*; the user and password from the environment variables they name."""
        host = settings.get("SPREADTRACE_SMTP_HOST") or ""
        if not host:
            raise MailNotConfigured("no SMTP server configured (set SPREADTRACE_SMTP_HOST)")
        starttls = str(settings.get("SPREADTRACE_SMTP_STARTTLS") or "required")
        if starttls not in ("required", "optional", "off"):
            raise MailNotConfigured(f"SPREADTRACE_SMTP_STARTTLS: {starttls!r} is not one of required, optional, off")
        return cls(
            host=host, port=int(settings.get("SPREADTRACE_SMTP_PORT") or 587), starttls=starttls,
            user=os.environ.get(settings.get("SPREADTRACE_SMTP_USER_ENV") or "SPREADTRACE_SMTP_USER", ""),
            password=os.environ.get(settings.get("SPREADTRACE_SMTP_PASSWORD_ENV") or "SPREADTRACE_SMTP_PASSWORD", ""),
            timeout_s=float(settings.get("SPREADTRACE_SMTP_TIMEOUT") or 30.0),
            sender=settings.get("SPREADTRACE_SMTP_FROM") or "", ca_file=settings.get("SPREADTRACE_SMTP_CA") or "",
        )  # fmt: skip


def send(message: EmailMessage, smtp: SmtpSettings) -> None:
    """Hand ``message`` to the server, or raise MailFailed."""
    if message["From"] is None and smtp.sender:
        message["From"] = smtp.sender
    where = f"{smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as server:
            server.ehlo()
            if smtp.starttls != "off":
                if server.has_extn("starttls"):
                    server.starttls(context=ssl.create_default_context(cafile=smtp.ca_file or None))
                    server.ehlo()
                elif smtp.starttls == "required":
                    raise MailFailed(f"SMTP {where} does not offer STARTTLS (set SPREADTRACE_SMTP_STARTTLS=optional to send in clear)")
            if smtp.user:
                server.login(smtp.user, smtp.password)
            refused = server.send_message(message)
            if refused:  # some recipients only: the message went to the others, and the caller must know
                raise MailFailed(f"SMTP {where} refused " + ", ".join(f"{who} ({code} {_text(why)})" for who, (code, why) in refused.items()))
    except MailFailed:
        raise
    except smtplib.SMTPResponseException as exc:
        raise MailFailed(f"SMTP {where} refused: {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailFailed(f"SMTP {where} refused every recipient: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPServerDisconnected as exc:
        if "timed out" in str(exc):  # smtplib reports a read timeout as a lost connection
            raise MailFailed(f"SMTP {where} timed out after {smtp.timeout_s:g} s") from None
        raise MailFailed(f"SMTP {where} dropped the connection: {exc or 'no reason given'}") from None
    except (TimeoutError, socket.timeout):
        raise MailFailed(f"SMTP {where} timed out after {smtp.timeout_s:g} s") from None
    except ssl.SSLError as exc:
        raise MailFailed(f"SMTP {where}: TLS failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise MailFailed(f"SMTP {where}: {exc.strerror or exc}") from None
    except smtplib.SMTPException as exc:
        raise MailFailed(f"SMTP {where}: {exc}") from None


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return " ".join(text.split())
