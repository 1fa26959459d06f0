"""The records of the direct-report exchange layout ``phis-nidrs/1`` (docs/modules/directreport.md
§3 is the specification a partner implements; this module is its reference implementation).

There is no public specification of the national system's (NIDRS, 中国疾病预防控制信息系统)
exchange files, so PHIS defines its own: a batch is one UTF-8 JSON Lines file whose first
line is a header and whose other lines are records. Two kinds of batch exist:

- ``cards``: one record per card version (``CardRecord``); the card fields carry the codes of
  the national value sets (shared/domain/surveillance.md §2.1).
- ``ack``: the acknowledgement of a ``cards`` batch, one ``AckRecord`` per record received.

Pure Python: no Django, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

LAYOUT = "phis-nidrs/1"

KIND_CARDS = "cards"
KIND_ACK = "ack"
KINDS = (KIND_CARDS, KIND_ACK)

# What a record asks the receiver to do with the card (record id + version identify it).
OP_ADD = "add"          # first transmission of a card
OP_UPDATE = "update"    # a later version: revision (订正), review, restore, any change
OP_DELETE = "delete"    # the card was deleted at the sender (misreport / duplicate)
OPERATIONS = (OP_ADD, OP_UPDATE, OP_DELETE)

# Per-record outcome in an acknowledgement.
RESULT_ACCEPTED = "accepted"
RESULT_REJECTED = "rejected"
RESULT_DUPLICATE = "duplicate"  # this record id + version was received before: no change
RESULTS = (RESULT_ACCEPTED, RESULT_REJECTED, RESULT_DUPLICATE)

# Outcome of a whole batch (an unreadable or tampered batch is rejected as a whole).
BATCH_ACCEPTED = "accepted"
BATCH_REJECTED = "rejected"
BATCH_RESULTS = (BATCH_ACCEPTED, BATCH_REJECTED)

DIGEST_SM3 = "SM3"
DIGEST_SHA256 = "SHA-256"
DIGESTS = (DIGEST_SM3, DIGEST_SHA256)
MAC_HMAC_SM3 = "HMAC-SM3"
MAC_HMAC_SHA256 = "HMAC-SHA256"
MACS = (MAC_HMAC_SM3, MAC_HMAC_SHA256)

BATCH_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ORG_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
RECORD_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


@dataclass(frozen=True)
class BatchHeader:
    """The first line of every batch file."""

    kind: str                      # "cards" | "ack"
    sender: str                    # org code of the sender (e.g. 370500 Dongying)
    receiver: str                  # org code of the receiver (e.g. 370000 Shandong, 100000)
    batch_id: str                  # unique per sender; re-deliveries reuse it
    created_at: datetime           # timezone-aware
    record_count: int
    digest_algorithm: str = DIGEST_SM3
    body_digest: str = ""          # hex of the digest of the body bytes
    mac_algorithm: str = ""        # "" = no MAC (integrity by digest + channel security)
    mac: str = ""                  # hex of HMAC over the header without "mac" (see codec)
    layout: str = LAYOUT
    # ack batches only
    ack_of: str = ""               # the batch id acknowledged
    batch_result: str = ""         # "accepted" | "rejected"
    batch_code: str = ""           # why a whole batch was rejected
    batch_reason: str = ""
    batch_reason_en: str = ""


@dataclass(frozen=True)
class CardFields:
    """Every field of the report card (2019 revision, surveillance.md §2.1). Names are those
    of ``phis.apps.notifiable.inputs.CardInput`` plus the system fields NIDRS keeps."""

    card_number: str = ""          # the sender's card number (卡片编号)
    card_type: str = "1"           # report_card_type: 1 initial, 2 corrected
    status: str = ""               # submitted / returned / reviewed / deleted
    # patient
    patient_name: str = ""
    parent_name: str = ""
    id_type: str = ""              # id_document_type ("01" resident identity card)
    id_number: str = ""            # in clear: transport security is the channel's job
    sex: int | None = None         # GB/T 2261.1: 0, 1, 2, 9
    birth_date: date | None = None
    age_value: int | None = None
    age_unit: str = ""             # Y / M / D
    work_unit: str = ""
    phone: str = ""
    residence_category: str = ""   # patient_residence 1..6
    address_code: str = ""         # GB/T 2260 + statistical code, to township or village
    address_text: str = ""
    occupation: str = ""           # occupation 01..18
    occupation_other: str = ""
    # diagnosis
    disease_code: str = ""         # catalogue code (phis.core.codes "notifiable")
    subtype_code: str = ""
    icd10_code: str = ""
    disease_class: str = ""        # A / B / C / other
    other_disease_text: str = ""
    original_disease_code: str = ""  # 订正病名 on a corrected card
    case_classification: str = ""  # 1 suspected .. 5 positive test
    acute_chronic: str = ""        # 1 acute / 2 chronic
    onset_date: date | None = None
    diagnosis_at: datetime | None = None
    death_date: date | None = None
    # reporting
    reporting_unit_code: str = ""
    reporting_unit_name: str = ""
    doctor_name: str = ""
    reporting_phone: str = ""
    filled_date: date | None = None
    remarks: str = ""
    reported_at: datetime | None = None
    reviewed_at: datetime | None = None
    # deletion
    deleted_at: datetime | None = None
    delete_reason: str = ""
    duplicate_of: str = ""         # card number of the card kept when this one is a duplicate
    extra: dict[str, Any] = field(default_factory=dict)  # disease-specific supplements

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DATE_FIELDS = ("birth_date", "onset_date", "death_date", "filled_date")
DATETIME_FIELDS = ("diagnosis_at", "reported_at", "reviewed_at", "deleted_at")
INT_FIELDS = ("sex", "age_value")


@dataclass(frozen=True)
class CardRecord:
    """One card version. ``record_id`` is stable for the card across versions (the sender's
    card number); the receiver applies a version only when it is newer than the one it
    holds, so re-deliveries are harmless (idempotent by record id + version)."""

    record_id: str
    version: int
    operation: str                 # add / update / delete
    card: CardFields
    reason: str = ""               # why this version exists (revision / deletion reason)


@dataclass(frozen=True)
class AckRecord:
    record_id: str
    version: int
    result: str                    # accepted / rejected / duplicate
    code: str = ""                 # machine code of the outcome ("" when accepted)
    reason: str = ""               # Chinese
    reason_en: str = ""
    line: int = 0                  # line number in the acknowledged file (1 = header)
    receiver_ref: str = ""         # the receiver's own id of the card, when it keeps one
    errors: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True)
class FieldProblem:
    field: str
    code: str
    message: str                   # Chinese
    message_en: str


@dataclass(frozen=True)
class Batch:
    header: BatchHeader
    records: tuple[CardRecord, ...] | tuple[AckRecord, ...]


@dataclass(frozen=True)
class RecordProblem:
    """A record line that could not be read: reported back in the acknowledgement."""

    line: int
    record_id: str
    version: int
    errors: tuple[FieldProblem, ...]


@dataclass(frozen=True)
class ParsedBatch:
    """What ``parse_batch`` returns: the header, the readable records, and the lines that
    could not be read (each becomes a rejected ``AckRecord``)."""

    header: BatchHeader
    records: tuple[CardRecord, ...] | tuple[AckRecord, ...]
    problems: tuple[RecordProblem, ...] = ()
    lines: tuple[int, ...] = ()    # line number of each record in ``records``


def file_name(header: BatchHeader) -> str:
    """``CARDS_370500_370000_<batch id>.jsonl`` / ``ACK_…`` (docs §3.1)."""
    return f"{header.kind.upper()}_{header.sender}_{header.receiver}_{header.batch_id}.jsonl"
