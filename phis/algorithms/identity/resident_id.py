"""Citizen identity number (公民身份号码), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date, 3-digit sequence (odd = male,
even = female), check character from ISO 7064 MOD 11-2 (``X`` for 10). Legacy 15-digit
numbers (before 1999) have a 2-digit year and no check character; they are upgraded by
inserting ``19`` and computing the check. python-stdnum's ``stdnum.cn.ric`` agrees with this
implementation (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # ISO 7064 MOD 11-2
CHECK_CHARS = "10X98765432"


class ResidentIdError(ValueError):
    def __init__(self, code: str, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message = message
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str          # always the 18-character form
    birth_date: date
    sex: int             # GB/T 2261.1: 1 male, 2 female
    area_code: str
    upgraded_from_15: bool


def check_character(first17: str) -> str:
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def upgrade_15_to_18(number: str) -> str:
    if len(number) != 15 or not number.isdigit():
        raise ResidentIdError("invalid_length", "15位身份证号码应全为数字",
                              "A 15-digit ID must be all digits")
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_character(first17)


def parse_resident_id(raw: str, *, today: date | None = None) -> ResidentId:
    number = (raw or "").strip().upper().replace(" ", "")
    upgraded = False
    if len(number) == 15:
        number = upgrade_15_to_18(number)
        upgraded = True
    if len(number) != 18:
        raise ResidentIdError("invalid_length", "身份证号码应为18位（或旧版15位）",
                              "A resident ID has 18 characters (or 15 for legacy IDs)")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ResidentIdError("invalid_characters", "身份证号码只能包含数字和末位X",
                              "A resident ID holds digits and a final X only")
    if number[17] != check_character(number[:17]):
        raise ResidentIdError("invalid_check", "身份证号码校验位错误，请核对",
                              "The check character does not match; please check the number")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ResidentIdError("invalid_birth_date", "身份证号码中的出生日期无效",
                              "The birth date inside the ID is not a real date") from None
    today = today or date.today()
    if birth > today or birth.year < 1880:
        raise ResidentIdError("invalid_birth_date", "身份证号码中的出生日期不合理",
                              "The birth date inside the ID is out of range")
    if number[:2] == "00" or (number[2:6] == "0000" and number[:2] not in {"71", "81", "82"}):
        raise ResidentIdError("invalid_area", "身份证号码地址码无效",
                              "The address code of the ID is not valid")
    sex = 1 if int(number[16]) % 2 == 1 else 2
    return ResidentId(number=number, birth_date=birth, sex=sex, area_code=number[:6],
                      upgraded_from_15=upgraded)
