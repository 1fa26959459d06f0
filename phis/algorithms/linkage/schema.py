"""Which fields are compared, how, and how records are blocked.

A schema is plain data (``to_dict`` / ``from_dict``) so that it can be stored next to a
fitted model. Two presets: :func:`chinese_person_schema` (the platform's person records and
the CLI's ``record_id,name,sex,birth_date,id_number,phone,address``) and
:func:`febrl_schema` (English-language FEBRL test data), showing the generic comparators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phis.algorithms.linkage.blocking import BlockingPass
from phis.algorithms.linkage.comparators import (
    ChineseAddressComparator,
    ChineseNameComparator,
    Comparator,
    DateComparator,
    ExactComparator,
    IdStringComparator,
    PhoneComparator,
    ResidentIdComparator,
    SexComparator,
    StringComparator,
    comparator_from_spec,
)


@dataclass
class LinkageSchema:
    comparators: list[Comparator]
    blocking: list[BlockingPass]
    exclusive_field: str | None = None
    name: str = "custom"
    extra: dict = field(default_factory=dict)

    @property
    def fields(self) -> list[str]:
        return [c.field for c in self.comparators]

    def by_field(self) -> dict[str, Comparator]:
        return {c.field: c for c in self.comparators}

    def validate(self) -> None:
        names = self.fields
        if len(set(names)) != len(names):
            raise ValueError("a field is compared twice")
        for bp in self.blocking:
            for f, _k in bp:
                if f not in names:
                    raise ValueError(f"blocking pass uses unknown field {f!r}")
        if self.exclusive_field and self.exclusive_field not in names:
            raise ValueError(f"unknown exclusive field {self.exclusive_field!r}")

    def to_dict(self) -> dict:
        return {"name": self.name, "comparators": [c.spec() for c in self.comparators],
                "blocking": [[list(p) for p in bp] for bp in self.blocking],
                "exclusive_field": self.exclusive_field}

    @classmethod
    def from_dict(cls, d: dict) -> LinkageSchema:
        comps = [comparator_from_spec(_tuplify(s)) for s in d["comparators"]]
        blocking = [tuple((str(f), str(k)) for f, k in bp) for bp in d["blocking"]]
        return cls(comparators=comps, blocking=blocking,
                   exclusive_field=d.get("exclusive_field"), name=d.get("name", "custom"))


def _tuplify(spec: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}


PERSON_FIELDS = ("name", "sex", "birth_date", "id_number", "phone", "address")


def chinese_person_schema() -> LinkageSchema:
    """Person records of the platform: ``name, sex, birth_date, id_number, phone, address``."""
    return LinkageSchema(
        name="chinese_person",
        comparators=[
            ChineseNameComparator("name", tf=True),
            SexComparator("sex"),
            DateComparator("birth_date"),
            ResidentIdComparator("id_number"),
            PhoneComparator("phone"),
            ChineseAddressComparator("address", tf=True),
        ],
        blocking=[
            (("id_number", "area_date"),),
            (("id_number", "date_seq"),),
            (("id_number", "area_seq"), ("name", "surname")),
            (("name", "py"), ("birth_date", "year")),
            (("name", "py"), ("id_number", "birth_date")),
            (("name", "fuzzy"), ("birth_date", "unordered")),
            (("name", "surname"), ("birth_date", "unordered"), ("sex", "value")),
            (("birth_date", "unordered"), ("address", "township")),
            (("name", "py"), ("address", "township")),
            (("phone", "full"),),
        ],
        exclusive_field="id_number",
    )


FEBRL_FIELDS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
                "postcode", "state", "date_of_birth", "soc_sec_id")


def febrl_schema() -> LinkageSchema:
    """FEBRL-style English person records (generic comparators only)."""
    return LinkageSchema(
        name="febrl",
        comparators=[
            StringComparator("given_name", tf=True),
            StringComparator("surname", tf=True),
            IdStringComparator("street_number"),
            StringComparator("address_1"),
            StringComparator("address_2"),
            StringComparator("suburb"),
            IdStringComparator("postcode"),
            ExactComparator("state"),
            DateComparator("date_of_birth"),
            IdStringComparator("soc_sec_id"),
        ],
        blocking=[
            (("soc_sec_id", "half1"),),
            (("soc_sec_id", "half2"),),
            (("date_of_birth", "unordered"),),
            (("given_name", "soundex"), ("surname", "soundex")),
            (("surname", "soundex"), ("postcode", "exact")),
            (("given_name", "soundex"), ("date_of_birth", "year")),
            (("postcode", "exact"), ("street_number", "exact")),
            (("surname", "prefix3"), ("suburb", "soundex")),
        ],
    )


PRESETS = {"chinese_person": chinese_person_schema, "febrl": febrl_schema}
