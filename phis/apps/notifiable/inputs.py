"""What a report card is made from, whatever the channel (page, JSON API, FHIR Bundle,
CSV/Excel row, direct-report exchange, demo): every channel builds a ``CardInput`` and
hands it to ``services.card_create`` / ``card_update`` / ``card_revise``, so the rules of
§2.1–§2.4 (shared/domain/surveillance.md) are checked in one place.

Codes are those of the value sets in ``phis.core.codes`` (see models.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any


@dataclass
class CardInput:
    # patient
    patient_name: str = ""
    parent_name: str = ""
    id_type: str = "01"            # id_document_type; "01" resident identity card
    id_number: str = ""
    sex: int | None = None         # GB/T 2261.1: 1 male, 2 female
    birth_date: date | None = None
    age_value: int | None = None   # when the birth date is unknown
    age_unit: str = ""             # Y / M / D
    work_unit: str = ""
    phone: str = ""
    residence_category: str = ""   # patient_residence; derived from the address when empty
    address_code: str = ""         # org-unit code of the current address (township/community)
    address_text: str = ""
    occupation: str = ""           # occupation value set ("01".."18")
    occupation_other: str = ""
    # diagnosis
    disease_code: str = ""         # catalogue code; a sub-type code is accepted too
    subtype_code: str = ""
    icd10_code: str = ""
    other_disease_text: str = ""
    case_classification: str = ""  # "1".."5"
    acute_chronic: str = ""        # "1" acute / "2" chronic
    onset_date: date | None = None
    diagnosis_at: datetime | None = None
    death_date: date | None = None
    # reporting
    reporting_unit_code: str = ""  # facility code; defaults to the user's facility
    doctor_name: str = ""
    reporting_phone: str = ""
    filled_date: date | None = None
    remarks: str = ""
    # channel
    external_id: str = ""          # the sender's card number (exchange, FHIR, import)
    source_system: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # disease-specific supplements

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
