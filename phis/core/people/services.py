"""Every write to the person registry, and the audited reads of personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from phis.core.accounts.permissions import CorePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.crypto.fields import decrypt_text, encrypt_text
from phis.core.exceptions import FieldError, PermissionDenied, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit
from phis.core.orgunits.scoping import unit_in_scope
from phis.core.people.identifiers import (
    encrypted_identifier,
    encrypted_phone,
    name_pinyin,
    normalise_identifier,
    normalise_phone,
)
from phis.core.people.models import IdType, Person, PersonFacility, PersonIdentifier, Sex
from phis.core.people.selectors import person_address_county, person_get_visible


@dataclass
class PersonInput:
    name: str
    sex: int = Sex.UNKNOWN
    birth_date: date | None = None
    id_type: str = IdType.RESIDENT_ID
    id_number: str = ""
    phone: str = ""
    address_unit_code: str = ""
    address_text: str = ""
    ethnicity: str = ""
    nationality: str = "CHN"
    latitude: float | None = None
    longitude: float | None = None


def _validate(data: PersonInput, *, today: date | None = None):
    """Returns (errors, normalised identifier or None, phone or '', address unit or None)."""
    errors: list[FieldError] = []
    today = today or timezone.localdate()
    name = (data.name or "").strip()
    if not name:
        errors.append(FieldError("name", "required", "请填写姓名", "Name is required"))
    elif len(name) > 64:
        errors.append(FieldError("name", "too_long", "姓名过长（最多64字）",
                                 "Name is too long (64 characters at most)"))
    if data.sex not in Sex.values:
        errors.append(FieldError("sex", "invalid_choice", "性别代码无效（GB/T 2261.1: 0/1/2/9）",
                                 "Invalid sex code (GB/T 2261.1: 0/1/2/9)"))
    if data.birth_date and (data.birth_date > today or data.birth_date.year < 1880):
        errors.append(FieldError("birth_date", "out_of_range", "出生日期不合理",
                                 "Birth date is out of range"))
    ident = None
    if data.id_number:
        result = normalise_identifier(data.id_type, data.id_number)
        if isinstance(result, FieldError):
            errors.append(result)
        else:
            ident = result
            if ident.birth_date and data.birth_date and ident.birth_date != data.birth_date:
                errors.append(FieldError("birth_date", "mismatch_id",
                                         "出生日期与身份证号码不一致",
                                         "Birth date differs from the one in the resident ID"))
            if ident.sex and data.sex in (Sex.MALE, Sex.FEMALE) and ident.sex != data.sex:
                errors.append(FieldError("sex", "mismatch_id", "性别与身份证号码不一致",
                                         "Sex differs from the one in the resident ID"))
    phone = ""
    if data.phone:
        result = normalise_phone(data.phone)
        if isinstance(result, FieldError):
            errors.append(result)
        else:
            phone = result
    unit = None
    if data.address_unit_code:
        unit = OrgUnit.objects.filter(code=data.address_unit_code,
                                      level__in=[Level.COUNTY, Level.TOWNSHIP,
                                                 Level.COMMUNITY]).first()
        if unit is None:
            errors.append(FieldError("address_unit_code", "unknown", "住址区划代码不存在",
                                     "Unknown address division code"))
    if data.latitude is not None and not -90 <= data.latitude <= 90:
        errors.append(FieldError("latitude", "out_of_range", "纬度超出范围",
                                 "Latitude out of range"))
    if data.longitude is not None and not -180 <= data.longitude <= 180:
        errors.append(FieldError("longitude", "out_of_range", "经度超出范围",
                                 "Longitude out of range"))
    return errors, ident, phone, unit


@transaction.atomic
def person_create(*, data: PersonInput, created_by=None, facility: OrgUnit | None = None,
                  source: str = "") -> Person:
    errors, ident, phone, unit = _validate(data)
    if ident is not None and PersonIdentifier.objects.filter(
            id_type=ident.id_type, number_index=ident.index,
            person__status="active").exists():
        errors.append(FieldError("id_number", "duplicate", "该证件号码已登记",
                                 "A person with this document number is already registered"))
    if errors:
        raise ValidationFailed(errors)
    person = Person(
        name=data.name.strip(), name_pinyin=name_pinyin(data.name.strip()),
        sex=ident.sex if ident and ident.sex and data.sex == Sex.UNKNOWN else data.sex,
        birth_date=data.birth_date or (ident.birth_date if ident else None),
        ethnicity=data.ethnicity, nationality=data.nationality or "CHN",
        id_masked=ident.masked if ident else "", address_unit=unit,
        address_county=person_address_county(unit),
        latitude=data.latitude, longitude=data.longitude, created_by=created_by)
    if phone:
        person.phone_encrypted, person.phone_index, person.phone_masked = encrypted_phone(phone)
    if data.address_text:
        person.address_text_encrypted = encrypt_text(data.address_text.strip(),
                                                     purpose="person.address")
    person.save()
    if ident is not None:
        PersonIdentifier.objects.create(
            person=person, id_type=ident.id_type, number_encrypted=encrypted_identifier(ident),
            number_index=ident.index, number_masked=ident.masked, is_primary=True, source=source)
    if facility is not None:
        person_link_facility(person=person, facility=facility)
    return person


@transaction.atomic
def person_update(*, user, person_id: int, data: PersonInput) -> Person:
    if not user.has_phis_perm(CorePerm.EDIT_PERSONS):
        raise PermissionDenied()
    person = person_get_visible(user=user, person_id=person_id, for_update=True)
    errors, ident, phone, unit = _validate(data)
    if ident is not None:
        clash = PersonIdentifier.objects.filter(
            id_type=ident.id_type, number_index=ident.index,
            person__status="active").exclude(person=person).exists()
        if clash:
            errors.append(FieldError("id_number", "duplicate", "该证件号码已登记在其他人员名下",
                                     "This document number belongs to another person"))
    if errors:
        raise ValidationFailed(errors)
    person.name = data.name.strip()
    person.name_pinyin = name_pinyin(person.name)
    person.sex = data.sex
    person.birth_date = data.birth_date or (ident.birth_date if ident else person.birth_date)
    person.ethnicity = data.ethnicity
    person.nationality = data.nationality or "CHN"
    person.address_unit = unit
    person.address_county = person_address_county(unit)
    person.latitude, person.longitude = data.latitude, data.longitude
    if phone:
        person.phone_encrypted, person.phone_index, person.phone_masked = encrypted_phone(phone)
    elif not data.phone:
        person.phone_encrypted, person.phone_index, person.phone_masked = None, "", ""
    person.address_text_encrypted = (encrypt_text(data.address_text.strip(),
                                                  purpose="person.address")
                                     if data.address_text else None)
    if ident is not None:
        identifier_add(person=person, ident_type=ident.id_type, number=ident.number,
                       primary=True, source="edit")
    person.save()
    return person


def identifier_add(*, person: Person, ident_type: str, number: str, primary: bool = False,
                   source: str = "") -> PersonIdentifier:
    result = normalise_identifier(ident_type, number)
    if isinstance(result, FieldError):
        raise ValidationFailed([result])
    existing = PersonIdentifier.objects.filter(person=person, id_type=result.id_type,
                                               number_index=result.index).first()
    if primary:
        PersonIdentifier.objects.filter(person=person, is_primary=True).exclude(
            pk=getattr(existing, "pk", None)).update(is_primary=False)
        person.id_masked = result.masked
    if existing is not None:
        if primary and not existing.is_primary:
            existing.is_primary = True
            existing.save(update_fields=["is_primary"])
        return existing
    try:
        with transaction.atomic():
            return PersonIdentifier.objects.create(
                person=person, id_type=result.id_type,
                number_encrypted=encrypted_identifier(result), number_index=result.index,
                number_masked=result.masked, is_primary=primary, source=source)
    except IntegrityError:  # a concurrent request added the same identifier
        return PersonIdentifier.objects.get(person=person, id_type=result.id_type,
                                            number_index=result.index)


def person_link_facility(*, person: Person, facility: OrgUnit) -> None:
    PersonFacility.objects.get_or_create(person=person, org_unit=facility)


# --- audited reads ------------------------------------------------------------------------

def person_view(*, user, person_id: int, purpose: str = "查看人员信息 view person") -> Person:
    """The person, if visible to ``user``, with one access-audit row (SECURITY.md item 18)."""
    person = person_get_visible(user=user, person_id=person_id)
    audit_access(object_type="people.person", object_id=person.pk, person_id=person.pk,
                 purpose=purpose)
    return person


@transaction.atomic
def person_unmask(*, user, person_id: int, reason: str) -> dict[str, str]:
    """Clear identifiers and phone for a user whose role allows it, with a stated reason;
    audited as IDENTIFIER_UNMASKED (SECURITY.md item 26)."""
    if not user.has_phis_perm(CorePerm.UNMASK_IDENTIFIERS):
        raise PermissionDenied("您的角色不能查看完整证件号码",
                               "Your role may not see full identifiers")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed([FieldError("reason", "required", "请说明查看完整信息的理由",
                                           "Give a reason for revealing the full identifiers")])
    person = person_get_visible(user=user, person_id=person_id)
    identifiers = {
        f"{i.id_type}:{i.pk}": decrypt_text(i.number_encrypted, purpose=f"person.id.{i.id_type}")
        for i in person.identifiers.all()
    }
    phone = decrypt_text(person.phone_encrypted, purpose="person.phone")
    address = decrypt_text(person.address_text_encrypted, purpose="person.address")
    audit_access(object_type="people.person", object_id=person.pk, person_id=person.pk,
                 purpose=reason, event=AuditEventType.IDENTIFIER_UNMASKED,
                 detail={"fields": ["identifiers", "phone", "address"]})
    return {"identifiers": identifiers, "phone": phone, "address": address}


def person_address_text(*, person: Person) -> str:
    return decrypt_text(person.address_text_encrypted, purpose="person.address")


def person_in_user_scope(*, user, person: Person) -> bool:
    unit = person.address_unit
    return bool(unit and unit_in_scope(user, unit.path))
