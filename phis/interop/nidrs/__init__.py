"""The direct-report exchange layout ``phis-nidrs/1`` (pure Python; no Django, no database).

Specification: docs/modules/directreport.md §3. Public API::

    from phis.interop import nidrs
    header, data = nidrs.serialise_batch(kind=nidrs.KIND_CARDS, sender="370500",
                                         receiver="370000", batch_id="…", created_at=now,
                                         records=[nidrs.CardRecord(...)])
    parsed = nidrs.parse_batch(data)          # raises nidrs.BatchError when rejected whole
    problems = nidrs.validate_card_record(parsed.records[0])
"""

from phis.interop.nidrs.codec import (
    BatchError,
    body_digest,
    card_to_dict,
    format_datetime,
    header_mac,
    parse_batch,
    record_from_dict,
    record_to_dict,
    serialise_batch,
    sm3_available,
)
from phis.interop.nidrs.layout import (
    BATCH_ACCEPTED,
    BATCH_REJECTED,
    DIGEST_SHA256,
    DIGEST_SM3,
    KIND_ACK,
    KIND_CARDS,
    LAYOUT,
    MAC_HMAC_SHA256,
    MAC_HMAC_SM3,
    OP_ADD,
    OP_DELETE,
    OP_UPDATE,
    OPERATIONS,
    RESULT_ACCEPTED,
    RESULT_DUPLICATE,
    RESULT_REJECTED,
    AckRecord,
    BatchHeader,
    CardFields,
    CardRecord,
    FieldProblem,
    ParsedBatch,
    RecordProblem,
    file_name,
)
from phis.interop.nidrs.validate import validate_card_record


def default_digest() -> str:
    """SM3 where the OpenSSL build offers it (the China profile), SHA-256 otherwise."""
    return DIGEST_SM3 if sm3_available() else DIGEST_SHA256


__all__ = [
    "BATCH_ACCEPTED", "BATCH_REJECTED", "DIGEST_SHA256", "DIGEST_SM3", "KIND_ACK",
    "KIND_CARDS", "LAYOUT", "MAC_HMAC_SHA256", "MAC_HMAC_SM3", "OPERATIONS", "OP_ADD",
    "OP_DELETE", "OP_UPDATE", "RESULT_ACCEPTED", "RESULT_DUPLICATE", "RESULT_REJECTED",
    "AckRecord", "BatchError", "BatchHeader", "CardFields", "CardRecord", "FieldProblem",
    "ParsedBatch", "RecordProblem", "body_digest", "card_to_dict", "default_digest",
    "file_name", "format_datetime", "header_mac", "parse_batch", "record_from_dict",
    "record_to_dict", "serialise_batch", "sm3_available", "validate_card_record",
]
