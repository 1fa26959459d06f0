"""Channel adapters. An SMS backend has ``send(*, number, text, message_id)`` and raises on
failure; e-mail goes through Django's ``EMAIL_BACKEND``. Chosen by ``PHIS_SMS_BACKEND``:

- ``file`` (embedded default): one JSON line per message in ``PHIS_NOTIFY_FILE_DIR``
- ``console``: one JSON line on standard output
- ``memory``: kept in ``MemorySmsBackend.outbox`` (tests)
- ``http``: POST JSON to ``PHIS_SMS_GATEWAY_URL`` with ``Authorization: Bearer
  PHIS_SMS_GATEWAY_TOKEN``; ``message_id`` lets the gateway drop repeats of a retried send
- a dotted path to a class with the same ``send`` method
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string


class SmsError(Exception):
    pass


def _record(number: str, text: str, message_id: str) -> dict:
    return {"time": datetime.now(UTC).isoformat(), "id": message_id, "to": number,
            "text": text}


class FileSmsBackend:
    _lock = threading.Lock()

    def send(self, *, number: str, text: str, message_id: str) -> None:
        directory = Path(settings.PHIS_NOTIFY_FILE_DIR)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"sms-{datetime.now(UTC):%Y%m%d}.jsonl"
        line = json.dumps(_record(number, text, message_id), ensure_ascii=False)
        with self._lock, path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class ConsoleSmsBackend:
    def send(self, *, number: str, text: str, message_id: str) -> None:
        sys.stdout.write(json.dumps({"sms": _record(number, text, message_id)},
                                    ensure_ascii=False) + "\n")


class MemorySmsBackend:
    outbox: list[dict] = []

    def send(self, *, number: str, text: str, message_id: str) -> None:
        self.outbox.append(_record(number, text, message_id))


class HttpSmsBackend:
    timeout = 10

    def send(self, *, number: str, text: str, message_id: str) -> None:
        url = settings.PHIS_SMS_GATEWAY_URL
        if not url:
            raise SmsError("PHIS_SMS_GATEWAY_URL is not set")
        try:
            response = requests.post(
                url, json={"to": number, "text": text, "id": message_id},
                headers={"Authorization": f"Bearer {settings.PHIS_SMS_GATEWAY_TOKEN}"},
                timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsError(f"gateway unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 300:
            raise SmsError(f"gateway answered {response.status_code}: {response.text[:200]}")


_SMS_BACKENDS = {"file": FileSmsBackend, "console": ConsoleSmsBackend,
                 "memory": MemorySmsBackend, "http": HttpSmsBackend}


def sms_backend():
    name = settings.PHIS_SMS_BACKEND
    cls = _SMS_BACKENDS.get(name) or import_string(name)
    return cls()


def email_send(*, address: str, subject: str, text: str) -> None:
    message = EmailMessage(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                           to=[address])
    if message.send(fail_silently=False) != 1:
        raise RuntimeError("e-mail backend did not accept the message")
