"""Normalising, encrypting and indexing identifiers: one place for the rules that the
services, the selectors and the MPI share."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import lazy_pinyin

from phis.algorithms.identity import ResidentIdError, parse_resident_id
from phis.core.crypto.fields import encrypt_text, index_value
from phis.core.crypto.masking import mask_id_number, mask_phone
from phis.core.exceptions import FieldError
from phis.core.people.models import IdType

_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


@dataclass(frozen=True)
class NormalisedId:
    id_type: str
    number: str
    index: str
    masked: str
    birth_date: object = None
    sex: int | None = None


def normalise_identifier(id_type: str, raw: str, *, field: str = "id_number"
                         ) -> NormalisedId | FieldError:
    raw = (raw or "").strip().upper().replace(" ", "")
    if id_type not in IdType.values:
        return FieldError("id_type", "invalid_choice", "证件类型无效", "Unknown document type")
    if not raw:
        return FieldError(field, "required", "请填写证件号码", "The document number is required")
    if id_type == IdType.RESIDENT_ID:
        try:
            rid = parse_resident_id(raw)
        except ResidentIdError as exc:
            return FieldError(field, exc.code, exc.message, exc.message_en)
        return NormalisedId(id_type, rid.number, id_index(id_type, rid.number),
                            mask_id_number(rid.number), rid.birth_date, rid.sex)
    if not re.fullmatch(r"[A-Z0-9\-]{4,30}", raw):
        return FieldError(field, "invalid_characters", "证件号码格式无效",
                          "The document number has invalid characters")
    return NormalisedId(id_type, raw, id_index(id_type, raw), mask_id_number(raw))


def id_index(id_type: str, number: str) -> str:
    return index_value(f"id:{id_type}", number)


def normalise_phone(raw: str) -> str | FieldError:
    value = re.sub(r"[\s()]", "", raw or "")
    match = _PHONE.match(value)
    if not match:
        return FieldError("phone", "invalid_phone", "电话号码格式无效（手机11位或区号+座机）",
                          "Invalid phone number (11-digit mobile or area code + landline)")
    return match.group(1).replace("-", "")


def phone_index(phone: str) -> str:
    return index_value("phone", phone)


def encrypted_phone(phone: str) -> tuple[bytes, str, str]:
    return encrypt_text(phone, purpose="person.phone"), phone_index(phone), mask_phone(phone)


def encrypted_identifier(n: NormalisedId) -> bytes:
    return encrypt_text(n.number, purpose=f"person.id.{n.id_type}")


def name_pinyin(name: str) -> str:
    return "".join(lazy_pinyin(name)).lower() if name else ""
