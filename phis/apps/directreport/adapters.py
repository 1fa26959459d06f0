"""Delivery adapters of an exchange channel (docs/modules/directreport.md §4.2).

- ``file``: write the batch into the channel's outbox directory (an SFTP/rsync job or the
  partner's own collector takes it from there); acknowledgements and inbound batches are
  read from the inbox directory. Writes are atomic (temporary name, then rename).
- ``http``: POST the batch to the partner's endpoint; a 2xx answer is a delivery, and when
  its body is an acknowledgement batch it is processed at once (synchronous ack).

Transport security (TLS, SFTP, a private line) is the channel's job; the batch itself
carries its digest and, with a shared key, a MAC (layout §3.2).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from phis.apps.directreport.conf import Channel

CONTENT_TYPE = "application/x-ndjson; charset=utf-8"


class DeliveryError(Exception):
    """The batch did not reach the partner; it is retried with back-off."""


@dataclass(frozen=True)
class Delivery:
    receipt: str            # where it went (path or HTTP status + request id)
    response: bytes = b""   # a synchronous acknowledgement, when the partner sends one


def _atomic_write(directory: Path, name: str, content: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    temporary = directory / f".{name}.part"
    with open(temporary, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, target)
    return target


def deliver(channel: Channel, *, file_name: str, content: bytes, batch_id: str) -> Delivery:
    if channel.adapter == "file":
        try:
            path = _atomic_write(channel.outbox_dir, file_name, content)
        except OSError as exc:
            raise DeliveryError(f"write to {channel.outbox_dir} failed: {exc}") from exc
        return Delivery(receipt=str(path))
    return _http_post(channel, content=content, batch_id=batch_id)


def _http_post(channel: Channel, *, content: bytes, batch_id: str) -> Delivery:
    import requests

    headers = {"Content-Type": CONTENT_TYPE, "X-Batch-Id": batch_id,
               "Accept": "application/x-ndjson"}
    if channel.token:
        headers["Authorization"] = f"Bearer {channel.token}"
    try:
        response = requests.post(channel.url, data=content, headers=headers,
                                 timeout=channel.timeout)
    except requests.RequestException as exc:
        raise DeliveryError(f"POST {channel.url} failed: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"POST {channel.url} answered {response.status_code}: "
                            f"{response.text[:300]}")
    return Delivery(receipt=f"HTTP {response.status_code}", response=response.content or b"")


def inbox_files(channel: Channel, *, prefix: str) -> list[Path]:
    """Files waiting in the channel's inbox whose name starts with ``prefix`` (``ACK_`` or
    ``CARDS_``), oldest name first (batch ids sort by time)."""
    if channel.adapter != "file" or not channel.inbox_dir.is_dir():
        return []
    return sorted(p for p in channel.inbox_dir.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and p.suffix == ".jsonl")


def inbox_done(path: Path, *, ok: bool) -> Path:
    """Move a handled inbox file to ``processed/`` (or ``failed/``) beside it."""
    folder = path.parent / ("processed" if ok else "failed")
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{os.getpid()}.{id(path)}{path.suffix}"
    shutil.move(str(path), target)
    return target


def write_ack(channel: Channel, *, file_name: str, content: bytes) -> str:
    """An acknowledgement for a batch we received goes where our batches go."""
    if channel.adapter == "file":
        return str(_atomic_write(channel.outbox_dir, file_name, content))
    return ""  # http: the acknowledgement is the answer to the partner's request
