"""Serialise and parse ``phis-nidrs/1`` batches (docs/modules/directreport.md §3).

A batch file is UTF-8 JSON Lines, LF line ends:

    line 1       header (canonical JSON, see below)
    lines 2..n   one record each (canonical JSON)

Canonical JSON = keys sorted, no insignificant white space, non-ASCII characters written as
themselves (``ensure_ascii=False``). The *body* is the bytes of lines 2..n, each with its
trailing LF; ``body_digest`` is the hex SM3 (or SHA-256) of the body. When the partners share
a key, ``mac`` is the hex HMAC of the canonical header with ``mac`` set to "".

``parse_batch`` rejects the whole batch (``BatchError``) when the header is unreadable, the
layout is unknown, the record count or the digest or the MAC does not match; a single bad
record line is returned as a ``RecordProblem`` and the other records are still read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, replace
from datetime import date, datetime
from typing import Any

from phis.interop.nidrs.layout import (
    BATCH_ID_RE,
    BATCH_RESULTS,
    DATE_FIELDS,
    DATETIME_FIELDS,
    DIGEST_SHA256,
    DIGEST_SM3,
    DIGESTS,
    INT_FIELDS,
    KIND_ACK,
    KIND_CARDS,
    KINDS,
    LAYOUT,
    MAC_HMAC_SHA256,
    MAC_HMAC_SM3,
    MACS,
    OPERATIONS,
    ORG_CODE_RE,
    RECORD_ID_RE,
    RESULTS,
    AckRecord,
    BatchHeader,
    CardFields,
    CardRecord,
    FieldProblem,
    ParsedBatch,
    RecordProblem,
)

MAX_LINE_BYTES = 256 * 1024


class BatchError(Exception):
    """The batch as a whole cannot be accepted. ``code`` goes into the acknowledgement."""

    def __init__(self, code: str, message: str, message_en: str, *,
                 header: BatchHeader | None = None) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en
        self.header = header  # when the header itself was readable


# --- digests ----------------------------------------------------------------------------

def _hash_name(algorithm: str) -> str:
    return {DIGEST_SM3: "sm3", DIGEST_SHA256: "sha256"}[algorithm]


def sm3_available() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


def body_digest(body: bytes, algorithm: str = DIGEST_SM3) -> str:
    return hashlib.new(_hash_name(algorithm), body).hexdigest()


def header_mac(header: BatchHeader, key: bytes) -> str:
    hash_name = {MAC_HMAC_SM3: "sm3", MAC_HMAC_SHA256: "sha256"}[header.mac_algorithm]
    return hmac.new(key, _canonical(_header_dict(replace(header, mac=""))),
                    hash_name).hexdigest()


# --- JSON values -----------------------------------------------------------------------------

def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def format_datetime(value: datetime) -> str:
    """RFC 3339 with the offset the value carries (PHIS writes +08:00 local time)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes in the exchange layout must be timezone-aware")
    return value.isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _header_dict(header: BatchHeader) -> dict[str, Any]:
    data = {k: _jsonable(v) for k, v in asdict(header).items()}
    if header.kind != KIND_ACK:  # ack-only keys stay out of card batches
        for key in ("ack_of", "batch_result", "batch_code", "batch_reason", "batch_reason_en"):
            data.pop(key)
    return data


def card_to_dict(card: CardFields) -> dict[str, Any]:
    return {name: _jsonable(getattr(card, name)) for name in CardFields.names()}


def record_to_dict(record: CardRecord | AckRecord) -> dict[str, Any]:
    if isinstance(record, CardRecord):
        return {"record_id": record.record_id, "version": record.version,
                "operation": record.operation, "reason": record.reason,
                "card": card_to_dict(record.card)}
    return {"record_id": record.record_id, "version": record.version, "result": record.result,
            "code": record.code, "reason": record.reason, "reason_en": record.reason_en,
            "line": record.line, "receiver_ref": record.receiver_ref,
            "errors": [asdict(e) for e in record.errors]}


# --- serialise ---------------------------------------------------------------------------

def serialise_batch(*, kind: str, sender: str, receiver: str, batch_id: str,
                    created_at: datetime, records: list[CardRecord] | list[AckRecord],
                    digest_algorithm: str = DIGEST_SM3, mac_key: bytes | None = None,
                    mac_algorithm: str = MAC_HMAC_SM3, ack_of: str = "",
                    batch_result: str = "", batch_code: str = "", batch_reason: str = "",
                    batch_reason_en: str = "") -> tuple[BatchHeader, bytes]:
    """The header and the file bytes of a batch. Raises ``ValueError`` on bad arguments
    (programming errors: callers build batches from stored, valid data)."""
    if kind not in KINDS:
        raise ValueError(f"unknown batch kind {kind!r}")
    for name, value, pattern in (("sender", sender, ORG_CODE_RE),
                                 ("receiver", receiver, ORG_CODE_RE),
                                 ("batch_id", batch_id, BATCH_ID_RE)):
        if not pattern.match(value):
            raise ValueError(f"invalid {name} {value!r}")
    expected = CardRecord if kind == KIND_CARDS else AckRecord
    if any(not isinstance(r, expected) for r in records):
        raise ValueError(f"a {kind} batch holds {expected.__name__} records only")
    body = b"".join(_canonical(record_to_dict(r)) + b"\n" for r in records)
    header = BatchHeader(
        kind=kind, sender=sender, receiver=receiver, batch_id=batch_id,
        created_at=created_at, record_count=len(records), digest_algorithm=digest_algorithm,
        body_digest=body_digest(body, digest_algorithm),
        mac_algorithm=mac_algorithm if mac_key else "", ack_of=ack_of,
        batch_result=batch_result, batch_code=batch_code, batch_reason=batch_reason,
        batch_reason_en=batch_reason_en)
    format_datetime(created_at)
    if mac_key:
        header = replace(header, mac=header_mac(header, mac_key))
    return header, _canonical(_header_dict(header)) + b"\n" + body


# --- parse -------------------------------------------------------------------------------

def _problem(field: str, code: str, zh: str, en: str) -> FieldProblem:
    return FieldProblem(field=field, code=code, message=zh, message_en=en)


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError
    return parsed


def _parse_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError
    return date.fromisoformat(value)


def _parse_header(line: bytes) -> BatchHeader:
    try:
        data = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BatchError("header_unreadable", "批次头不是有效的JSON",
                         "The header line is not valid JSON") from None
    if not isinstance(data, dict):
        raise BatchError("header_unreadable", "批次头不是JSON对象",
                         "The header line is not a JSON object")
    if data.get("layout") != LAYOUT:
        raise BatchError("layout_unsupported", f"不支持的格式版本: {data.get('layout')!r}",
                         f"Unsupported layout {data.get('layout')!r} (expected {LAYOUT})")
    try:
        header = BatchHeader(
            kind=_str(data, "kind", KINDS), sender=_matching(data, "sender", ORG_CODE_RE),
            receiver=_matching(data, "receiver", ORG_CODE_RE),
            batch_id=_matching(data, "batch_id", BATCH_ID_RE),
            created_at=_parse_datetime(data.get("created_at")),
            record_count=_int(data, "record_count"),
            digest_algorithm=_str(data, "digest_algorithm", DIGESTS),
            body_digest=_str(data, "body_digest"),
            mac_algorithm=_str(data, "mac_algorithm", ("", *MACS)),
            mac=_str(data, "mac"), layout=LAYOUT,
            ack_of=_str(data, "ack_of") if "ack_of" in data else "",
            batch_result=_str(data, "batch_result", ("", *BATCH_RESULTS))
            if "batch_result" in data else "",
            batch_code=_str(data, "batch_code") if "batch_code" in data else "",
            batch_reason=_str(data, "batch_reason") if "batch_reason" in data else "",
            batch_reason_en=_str(data, "batch_reason_en") if "batch_reason_en" in data else "")
    except (KeyError, TypeError, ValueError) as exc:
        raise BatchError("header_invalid", f"批次头字段无效: {exc}",
                         f"Invalid header field: {exc}") from None
    if header.kind == KIND_ACK and not (header.ack_of and header.batch_result):
        raise BatchError("header_invalid", "回执须写明ack_of和batch_result",
                         "An ack batch needs ack_of and batch_result", header=header)
    return header


def _str(data: dict, key: str, allowed: tuple[str, ...] | None = None) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(key)
    if allowed is not None and value not in allowed:
        raise ValueError(key)
    return value


def _matching(data: dict, key: str, pattern) -> str:
    value = _str(data, key)
    if not pattern.match(value):
        raise ValueError(key)
    return value


def _int(data: dict, key: str) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(key)
    return value


def parse_batch(content: bytes, *, mac_key: bytes | None = None) -> ParsedBatch:
    """Read a batch file. ``mac_key``: when given, a batch without a valid MAC is rejected."""
    if content.startswith(b"\xef\xbb\xbf"):  # a UTF-8 BOM some editors add; not part of it
        content = content[3:]
    if not content:
        raise BatchError("empty", "文件为空", "The file is empty")
    head, sep, body = content.partition(b"\n")
    if not sep:
        raise BatchError("header_unreadable", "缺少换行(批次头后须有LF)",
                         "No line feed after the header")
    header = _parse_header(head)
    if mac_key is not None:
        if not header.mac_algorithm or not header.mac:
            raise BatchError("mac_missing", "批次缺少消息认证码(MAC)",
                             "The batch carries no MAC", header=header)
        if not hmac.compare_digest(header.mac, header_mac(header, mac_key)):
            raise BatchError("mac_mismatch", "消息认证码(MAC)校验失败，批次可能被篡改",
                             "MAC check failed: the batch may have been altered",
                             header=header)
    if not hmac.compare_digest(header.body_digest.lower(),
                               body_digest(body, header.digest_algorithm)):
        raise BatchError("digest_mismatch", "摘要校验失败，批次内容可能被篡改或不完整",
                         "Body digest mismatch: the batch was altered or truncated",
                         header=header)
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    else:
        raise BatchError("body_unterminated", "最后一行缺少换行符",
                         "The last record line has no line feed", header=header)
    if len(lines) != header.record_count:
        raise BatchError("count_mismatch",
                         f"记录数不符: 批次头{header.record_count}条，实际{len(lines)}条",
                         f"Record count mismatch: header says {header.record_count}, "
                         f"file has {len(lines)}", header=header)
    records: list = []
    numbers: list[int] = []
    problems: list[RecordProblem] = []
    parse_one = _parse_card_record if header.kind == KIND_CARDS else _parse_ack_record
    for index, raw in enumerate(lines, start=2):
        record, problem = parse_one(raw, index)
        if record is not None:
            records.append(record)
            numbers.append(index)
        else:
            problems.append(problem)
    return ParsedBatch(header=header, records=tuple(records), problems=tuple(problems),
                       lines=tuple(numbers))


def _load_line(raw: bytes, line: int) -> tuple[dict | None, RecordProblem | None]:
    if len(raw) > MAX_LINE_BYTES:
        return None, RecordProblem(line, "", 0, (_problem("record", "too_long", "记录过长",
                                                           "Record line too long"),))
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, RecordProblem(line, "", 0, (_problem(
            "record", "unreadable", "记录不是有效的UTF-8 JSON", "Not valid UTF-8 JSON"),))
    if not isinstance(data, dict):
        return None, RecordProblem(line, "", 0, (_problem(
            "record", "unreadable", "记录不是JSON对象", "Not a JSON object"),))
    return data, None


def _identity(data: dict) -> tuple[str, int, list[FieldProblem]]:
    problems = []
    record_id = data.get("record_id")
    if not isinstance(record_id, str) or not RECORD_ID_RE.match(record_id):
        problems.append(_problem("record_id", "invalid", "记录编号无效", "Invalid record_id"))
        record_id = record_id if isinstance(record_id, str) else ""
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.append(_problem("version", "invalid", "版本号须为正整数",
                                 "version must be a positive integer"))
        version = 0
    return record_id[:64], version, problems


def record_from_dict(data: dict) -> CardRecord:
    """A card record from its JSON object (as ``record_to_dict`` wrote it); ``ValueError``
    listing the problems otherwise."""
    record, problem = _card_record_from(data, 0)
    if record is None:
        raise ValueError("; ".join(f"{e.field}: {e.message_en}" for e in problem.errors))
    return record


def _parse_card_record(raw: bytes, line: int
                       ) -> tuple[CardRecord | None, RecordProblem | None]:
    data, problem = _load_line(raw, line)
    if data is None:
        return None, problem
    return _card_record_from(data, line)


def _card_record_from(data: dict, line: int
                      ) -> tuple[CardRecord | None, RecordProblem | None]:
    record_id, version, problems = _identity(data)
    operation = data.get("operation")
    if operation not in OPERATIONS:
        problems.append(_problem("operation", "invalid_choice", "操作类型无效",
                                 "operation must be add, update or delete"))
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        problems.append(_problem("reason", "invalid", "原因应为文本", "reason must be text"))
    card_data = data.get("card")
    card = None
    if not isinstance(card_data, dict):
        problems.append(_problem("card", "missing", "缺少卡片内容", "card object missing"))
    else:
        card, card_problems = _parse_card(card_data)
        problems.extend(card_problems)
    if problems or card is None:
        return None, RecordProblem(line, record_id, version, tuple(problems))
    return CardRecord(record_id=record_id, version=version, operation=operation, card=card,
                      reason=reason), None


def _parse_card(data: dict) -> tuple[CardFields | None, list[FieldProblem]]:
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    known = set(CardFields.names())
    for key in data:
        if key not in known:
            problems.append(_problem(f"card.{key}", "unknown_field", "未定义的字段",
                                     "Field not defined in the layout"))
    for name in CardFields.names():
        if name not in data:
            continue  # absent = the default (empty / null)
        value = data[name]
        where = f"card.{name}"
        try:
            if name == "extra":
                if not isinstance(value, dict):
                    raise TypeError
                values[name] = value
            elif value is None:
                if name not in (*DATE_FIELDS, *DATETIME_FIELDS, *INT_FIELDS):
                    raise TypeError
                values[name] = None
            elif name in DATE_FIELDS:
                values[name] = _parse_date(value)
            elif name in DATETIME_FIELDS:
                values[name] = _parse_datetime(value)
            elif name in INT_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise TypeError
                values[name] = value
            else:
                if not isinstance(value, str):
                    raise TypeError
                values[name] = value
        except (TypeError, ValueError):
            kind = ("日期(YYYY-MM-DD)", "a date (YYYY-MM-DD)") if name in DATE_FIELDS else (
                ("带时区的时间(RFC 3339)", "an RFC 3339 date-time with offset")
                if name in DATETIME_FIELDS else
                ("非负整数", "a non-negative integer") if name in INT_FIELDS else
                ("JSON对象", "a JSON object") if name == "extra" else ("文本", "text"))
            problems.append(_problem(where, "invalid_type", f"应为{kind[0]}",
                                     f"Must be {kind[1]}"))
    if problems:
        return None, problems
    return CardFields(**values), []


def _parse_ack_record(raw: bytes, line: int) -> tuple[AckRecord | None, RecordProblem | None]:
    data, problem = _load_line(raw, line)
    if data is None:
        return None, problem
    record_id, version, problems = _identity(data)
    if data.get("result") not in RESULTS:
        problems.append(_problem("result", "invalid_choice", "结果无效",
                                 "result must be accepted, rejected or duplicate"))
    text = {}
    for key in ("code", "reason", "reason_en", "receiver_ref"):
        value = data.get(key, "")
        if not isinstance(value, str):
            problems.append(_problem(key, "invalid_type", "应为文本", "Must be text"))
        text[key] = value if isinstance(value, str) else ""
    line_no = data.get("line", 0)
    if isinstance(line_no, bool) or not isinstance(line_no, int) or line_no < 0:
        problems.append(_problem("line", "invalid_type", "应为非负整数",
                                 "Must be a non-negative integer"))
    errors = []
    raw_errors = data.get("errors", [])
    if not isinstance(raw_errors, list):
        problems.append(_problem("errors", "invalid_type", "应为数组", "Must be an array"))
        raw_errors = []
    for item in raw_errors:
        if not (isinstance(item, dict) and all(isinstance(item.get(k), str) for k in (
                "field", "code", "message", "message_en"))):
            problems.append(_problem("errors", "invalid_type", "错误项格式无效",
                                     "Each error needs field, code, message, message_en"))
            break
        errors.append(FieldProblem(field=item["field"], code=item["code"],
                                   message=item["message"], message_en=item["message_en"]))
    if problems:
        return None, RecordProblem(line, record_id, version, tuple(problems))
    return AckRecord(record_id=record_id, version=version, result=data["result"],
                     code=text["code"], reason=text["reason"], reason_en=text["reason_en"],
                     line=line_no, receiver_ref=text["receiver_ref"],
                     errors=tuple(errors)), None
