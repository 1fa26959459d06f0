"""Configuration of the exchange channels (docs/modules/directreport.md §5).

``settings.PHIS_DIRECTREPORT`` (optional) overrides the defaults below, e.g. in production::

    PHIS_DIRECTREPORT = {
        "sender_code": "370500",
        "channels": {
            "nidrs": {"receiver": "100000", "adapter": "http",
                      "url": env("PHIS_NIDRS_URL"), "token": env("PHIS_NIDRS_TOKEN"),
                      "mac_key": env("PHIS_NIDRS_MAC_KEY")},
            "province": {"receiver": "370000", "adapter": "file",
                         "outbox_dir": "/srv/exchange/sd/out", "inbox_dir": "/srv/exchange/sd/in"},
        },
    }

Every channel receives every exported card version. Keys per channel: ``receiver`` (org code
of the partner), ``adapter`` ("file" drop directory or "http" POST), ``outbox_dir`` /
``inbox_dir`` (file adapter; defaults under ``VAR_DIR/directreport/<channel>/``), ``url``,
``token``, ``timeout`` (http), ``mac_key`` (shared HMAC key, hex or text; optional),
``batch_size``, ``ack_timeout_hours`` (re-deliver when no acknowledgement came),
``backoff_seconds`` / ``backoff_max_seconds`` (retry of failed deliveries),
``import_username`` (account that stores cards found in the channel's inbox),
``proxy_unit_code`` (local unit recorded as reporting unit of an imported card whose
reporting unit lies outside the city), ``enabled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from phis.interop import nidrs

CHANNEL_DEFAULTS = {
    "receiver": "100000",   # national level (NIDRS)
    "adapter": "file",
    "outbox_dir": "",
    "inbox_dir": "",
    "url": "",
    "token": "",
    "timeout": 30,
    "mac_key": "",
    "batch_size": 500,
    "ack_timeout_hours": 24,
    "backoff_seconds": 60,
    "backoff_max_seconds": 6 * 3600,
    "import_username": "",
    "proxy_unit_code": "",
    "enabled": True,
}
DEFAULTS = {"sender_code": "370500", "channels": {"nidrs": {}}}


@dataclass(frozen=True)
class Channel:
    code: str
    sender: str
    receiver: str
    adapter: str
    outbox_dir: Path
    inbox_dir: Path
    url: str
    token: str
    timeout: float
    mac_key: bytes | None
    batch_size: int
    ack_timeout_hours: float
    backoff_seconds: int
    backoff_max_seconds: int
    import_username: str
    proxy_unit_code: str
    enabled: bool
    digest_algorithm: str


def _config() -> dict:
    custom = getattr(settings, "PHIS_DIRECTREPORT", None) or {}
    return {**DEFAULTS, **custom}


def _key(value: str) -> bytes | None:
    if not value:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return value.encode("utf-8")


def channels() -> dict[str, Channel]:
    config = _config()
    base = Path(settings.VAR_DIR) / "directreport"
    result = {}
    for code, raw in config["channels"].items():
        c = {**CHANNEL_DEFAULTS, **(raw or {})}
        if c["adapter"] not in ("file", "http"):
            raise ValueError(f"directreport channel {code}: adapter must be file or http")
        if c["adapter"] == "http" and c["enabled"] and not c["url"]:
            raise ValueError(f"directreport channel {code}: the http adapter needs a url")
        result[code] = Channel(
            code=code, sender=config["sender_code"], receiver=c["receiver"],
            adapter=c["adapter"],
            outbox_dir=Path(c["outbox_dir"] or base / code / "outbox"),
            inbox_dir=Path(c["inbox_dir"] or base / code / "inbox"),
            url=c["url"], token=c["token"], timeout=float(c["timeout"]),
            mac_key=_key(c["mac_key"]), batch_size=max(1, int(c["batch_size"])),
            ack_timeout_hours=float(c["ack_timeout_hours"]),
            backoff_seconds=max(1, int(c["backoff_seconds"])),
            backoff_max_seconds=max(1, int(c["backoff_max_seconds"])),
            import_username=c["import_username"], proxy_unit_code=c["proxy_unit_code"],
            enabled=bool(c["enabled"]), digest_algorithm=nidrs.default_digest())
    return result


def enabled_channels() -> list[Channel]:
    return [c for c in channels().values() if c.enabled]


def channel_get(code: str) -> Channel:
    found = channels().get(code)
    if found is None:
        raise KeyError(code)
    return found


def sender_code() -> str:
    return _config()["sender_code"]
