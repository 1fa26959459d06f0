from datetime import date

from ninja import Field, Schema
from pydantic import ConfigDict


class PersonOut(Schema):
    id: int
    name: str
    sex: int
    birth_date: date | None
    id_masked: str = Field(description="证件号码（脱敏）masked document number")
    phone_masked: str
    address_unit_code: str | None
    address_unit_name: str | None
    status: str


class PersonIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    sex: int = Field(0, description="GB/T 2261.1: 0 unknown, 1 male, 2 female, 9 unspecified")
    birth_date: date | None = None
    id_type: str = Field("01", description="证件类型 document type code")
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=30)
    address_unit_code: str = Field("", max_length=32)
    address_text: str = Field("", max_length=200)
    ethnicity: str = Field("", max_length=2)
    nationality: str = Field("CHN", max_length=3)
    latitude: float | None = None
    longitude: float | None = None


class UnmaskIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200, description="查看理由 purpose")


class UnmaskOut(Schema):
    identifiers: dict[str, str]
    phone: str
    address: str
