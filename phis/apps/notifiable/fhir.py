"""FHIR R4 intake of report cards: a Bundle with a Patient, a Condition and optionally
Observations (lab results) and an Encounter, validated with ``fhir.resources`` (its R4B
models: R4B is R4 with errata, and the resources used here are wire-compatible) and mapped
to a ``CardInput`` (docs/modules/notifiable.md "FHIR mapping").

Errors name the resource and element, e.g. ``Condition.onsetDateTime`` or
``Bundle.entry[1].resource.code``; nothing here stores anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from phis.apps.notifiable.inputs import CardInput
from phis.core.exceptions import FieldError, ValidationFailed

BASE = "http://phis.dongying.gov.cn/fhir"
# Code systems and extensions of this platform's profile.
DISEASE_SYSTEM = f"{BASE}/CodeSystem/notifiable-disease"
CLASSIFICATION_SYSTEM = f"{BASE}/CodeSystem/case-classification"
OCCUPATION_SYSTEM = f"{BASE}/CodeSystem/occupation"
ACUTE_CHRONIC_SYSTEM = f"{BASE}/CodeSystem/acute-chronic"
DIVISION_SYSTEM = f"{BASE}/CodeSystem/division"  # GB/T 2260 + township/community codes
FACILITY_SYSTEM = f"{BASE}/sid/facility"
EXT_OCCUPATION = f"{BASE}/StructureDefinition/population-group"
EXT_WORK_UNIT = f"{BASE}/StructureDefinition/work-unit"
EXT_ADDRESS_CODE = f"{BASE}/StructureDefinition/address-division-code"
EXT_CLASSIFICATION = f"{BASE}/StructureDefinition/case-classification"
EXT_ACUTE_CHRONIC = f"{BASE}/StructureDefinition/acute-chronic"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cn",
                 "urn:oid:2.16.840.1.113883.6.3")
LOINC_SYSTEM = "http://loinc.org"
# Resident identity card number: the national OID and this platform's system.
RESIDENT_ID_SYSTEMS = ("urn:oid:2.16.156.10011.1.3", f"{BASE}/sid/resident-id")
RESIDENT_ID_TYPE_CODES = ("NNCHN", "NI", "01")
# Condition.verificationStatus → case classification when no explicit classification
VERIFICATION_TO_CLASSIFICATION = {"confirmed": "3", "provisional": "1", "unconfirmed": "1",
                                  "differential": "1"}
INTERPRETATION = {"POS": "positive", "DET": "positive", "H": "positive", "A": "positive",
                  "NEG": "negative", "ND": "negative", "N": "negative",
                  "IND": "indeterminate", "E": "indeterminate"}
BUNDLE_TYPES = ("collection", "message", "transaction", "batch", "document")


@dataclass
class LabObservation:
    test_name: str
    result: str
    interpretation: str
    resulted_at: datetime | None
    loinc_code: str = ""
    specimen: str = ""
    collected_at: datetime | None = None
    laboratory: str = ""
    confirms: bool = False


@dataclass
class FhirCard:
    card: CardInput
    observations: list[LabObservation] = field(default_factory=list)


def _error(where: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(where, code, zh, en)


def _loc(loc: tuple) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1]}[{p}]"] if parts else [f"[{p}]"]
        else:
            parts.append(str(p))
    return ".".join(["Bundle", *parts]) if parts else "Bundle"


def _validate(bundle: Any):
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(bundle, dict):
        raise ValidationFailed([_error("Bundle", "invalid", "应为FHIR Bundle JSON对象",
                                       "Expected a FHIR Bundle JSON object")])
    if bundle.get("resourceType") != "Bundle":
        raise ValidationFailed([_error("Bundle.resourceType", "invalid",
                                       "resourceType应为Bundle", "resourceType must be Bundle")])
    try:
        return Bundle.model_validate(bundle)
    except ValidationError as exc:
        errors = []
        for e in exc.errors()[:50]:
            where = _loc(tuple(p for p in e.get("loc", ()) if p != "__root__"))
            errors.append(_error(where, "fhir_invalid", f"FHIR校验失败：{e.get('msg', '')}",
                                 f"FHIR validation failed: {e.get('msg', '')}"))
        raise ValidationFailed(errors, message="FHIR资源校验失败",
                               message_en="The FHIR Bundle is not valid R4") from None
    except (TypeError, ValueError) as exc:  # malformed shapes fhir.resources rejects early
        raise ValidationFailed([_error("Bundle", "fhir_invalid",
                                       f"FHIR校验失败：{exc}",
                                       f"FHIR validation failed: {exc}")]) from None


def _codes(concept, systems) -> list[str]:
    if concept is None:
        return []
    return [c.code for c in (concept.coding or []) if c.code and (
        systems is None or c.system in systems)]


def _ext(resource, url: str):
    for ext in getattr(resource, "extension", None) or []:
        if ext.url == url:
            for attr in ("valueCode", "valueString"):
                value = getattr(ext, attr, None)
                if value:
                    return str(value)
            coding = getattr(ext, "valueCoding", None)
            if coding is not None and coding.code:
                return coding.code
            concept = getattr(ext, "valueCodeableConcept", None)
            if concept is not None:
                codes = _codes(concept, None)
                if codes:
                    return codes[0]
    return ""


def _name(human_names) -> str:
    for n in human_names or []:
        if n.text:
            return n.text.strip()
        family = n.family or ""
        given = "".join(n.given or [])
        if family or given:
            return f"{family}{given}".strip()  # Chinese order: family name first
    return ""


def _resident_id(patient) -> tuple[str, str]:
    fallback = ("", "")
    for ident in patient.identifier or []:
        if not ident.value:
            continue
        type_codes = _codes(ident.type, None)
        if ident.system in RESIDENT_ID_SYSTEMS or any(c in RESIDENT_ID_TYPE_CODES
                                                      for c in type_codes):
            return "01", ident.value
        if not fallback[1]:
            fallback = ("99", ident.value)
    return fallback


def _local_datetime(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        from django.utils import timezone

        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    return None


def bundle_to_card(bundle: Any, *, reporting_unit_code: str = "") -> FhirCard:
    """Map a FHIR R4 Bundle to a card input (+ lab observations). Raises
    ValidationFailed with element-level errors."""
    parsed = _validate(bundle)
    entries = parsed.entry or []
    by_type: dict[str, list[tuple[int, Any]]] = {}
    for i, entry in enumerate(entries):
        resource = entry.resource
        if resource is not None:
            by_type.setdefault(resource.get_resource_type(), []).append((i, resource))
    errors: list[FieldError] = []
    for needed in ("Patient", "Condition"):
        found = by_type.get(needed, [])
        if len(found) != 1:
            errors.append(_error(f"Bundle.entry({needed})", "required" if not found
                                 else "too_many",
                                 f"Bundle须包含且仅包含一个{needed}",
                                 f"The Bundle needs exactly one {needed}"))
    if parsed.type not in BUNDLE_TYPES:
        errors.append(_error("Bundle.type", "invalid", "Bundle类型不支持",
                             "Unsupported Bundle type"))
    if errors:
        raise ValidationFailed(errors)
    _, patient = by_type["Patient"][0]
    _, condition = by_type["Condition"][0]
    card = CardInput()
    card.patient_name = _name(patient.name)
    card.id_type, card.id_number = _resident_id(patient)
    card.sex = {"male": 1, "female": 2}.get(patient.gender or "")
    card.birth_date = _as_date(patient.birthDate)
    for telecom in patient.telecom or []:
        if telecom.system in ("phone", "sms") and telecom.value:
            card.phone = telecom.value
            break
    for contact in patient.contact or []:
        relations = [c for r in (contact.relationship or []) for c in _codes(r, None)]
        if any(r in ("PRN", "MTH", "FTH", "parent", "N") for r in relations) and contact.name:
            card.parent_name = _name([contact.name])
            break
    for address in patient.address or []:
        if address.use in (None, "home", "temp"):
            card.address_text = address.text or "".join(
                p for p in [address.state, address.city, address.district,
                            *(address.line or [])] if p)
            card.address_code = _ext(address, EXT_ADDRESS_CODE)
            break
    card.occupation = _ext(patient, EXT_OCCUPATION)
    card.work_unit = _ext(patient, EXT_WORK_UNIT)
    if patient.deceasedDateTime is not None:
        card.death_date = _as_date(patient.deceasedDateTime)

    diseases = _codes(condition.code, (DISEASE_SYSTEM,))
    icd = _codes(condition.code, ICD10_SYSTEMS)
    card.disease_code = diseases[0] if diseases else ""
    card.icd10_code = icd[0] if icd else ""
    if not diseases and not icd:
        raise ValidationFailed([_error(
            "Condition.code", "required", "Condition.code须含法定传染病或ICD-10编码",
            "Condition.code needs a notifiable-disease or ICD-10 coding")])
    classification = _ext(condition, EXT_CLASSIFICATION)
    if not classification:
        status = _codes(condition.verificationStatus, None)
        classification = VERIFICATION_TO_CLASSIFICATION.get(status[0], "") if status else ""
    card.case_classification = classification
    card.acute_chronic = _ext(condition, EXT_ACUTE_CHRONIC)
    card.onset_date = _as_date(condition.onsetDateTime) or _as_date(
        getattr(condition.onsetPeriod, "start", None) if condition.onsetPeriod else None)
    card.diagnosis_at = _local_datetime(condition.recordedDate)
    if condition.recorder is not None and condition.recorder.display:
        card.doctor_name = condition.recorder.display
    elif condition.asserter is not None and condition.asserter.display:
        card.doctor_name = condition.asserter.display
    card.remarks = "; ".join(n.text for n in (condition.note or []) if n.text)[:500]
    for ident in condition.identifier or []:
        if ident.value:
            card.external_id, card.source_system = ident.value, ident.system or "fhir"
            break
    if not card.external_id and parsed.identifier is not None and parsed.identifier.value:
        card.external_id = parsed.identifier.value
        card.source_system = parsed.identifier.system or "fhir"
    card.reporting_unit_code = reporting_unit_code
    for _, encounter in by_type.get("Encounter", [])[:1]:
        provider = encounter.serviceProvider
        if provider is not None and provider.identifier is not None \
                and provider.identifier.value:
            card.reporting_unit_code = provider.identifier.value
    observations = [_observation(i, obs, errors) for i, obs in by_type.get("Observation", [])]
    if errors:
        raise ValidationFailed(errors)
    return FhirCard(card=card, observations=[o for o in observations if o is not None])


def _observation(index: int, obs, errors: list[FieldError]) -> LabObservation | None:
    where = f"Bundle.entry[{index}].resource(Observation)"
    loinc = _codes(obs.code, (LOINC_SYSTEM,))
    name = (obs.code.text if obs.code is not None and obs.code.text else "") or next(
        (c.display for c in (obs.code.coding or []) if c.display), "") or (
        loinc[0] if loinc else "")
    if obs.valueString:
        result = obs.valueString
    elif obs.valueCodeableConcept is not None:
        result = obs.valueCodeableConcept.text or next(
            (c.display or c.code for c in obs.valueCodeableConcept.coding or []), "")
    elif obs.valueQuantity is not None and obs.valueQuantity.value is not None:
        result = f"{obs.valueQuantity.value} {obs.valueQuantity.unit or ''}".strip()
    else:
        result = ""
    interpretation = ""
    for concept in obs.interpretation or []:
        for code in _codes(concept, None):
            interpretation = INTERPRETATION.get(code, interpretation)
    if not name:
        errors.append(_error(f"{where}.code", "required", "Observation须说明检测项目",
                             "The Observation needs a test code or text"))
    if not result:
        errors.append(_error(f"{where}.value[x]", "required", "Observation须有结果值",
                             "The Observation needs a value"))
    if not interpretation:
        errors.append(_error(f"{where}.interpretation", "required",
                             "Observation须有结果判定(POS/NEG/IND)",
                             "The Observation needs an interpretation (POS/NEG/IND)"))
    if not name or not result or not interpretation:
        return None
    collected = _local_datetime(obs.effectiveDateTime)
    resulted = _local_datetime(obs.issued) or collected
    if resulted is None:
        errors.append(_error(f"{where}.issued", "required", "Observation须有报告时间",
                             "The Observation needs its issued time"))
        return None
    specimen = obs.specimen.display if obs.specimen is not None and obs.specimen.display \
        else ""
    lab = ""
    for performer in obs.performer or []:
        if performer.display:
            lab = performer.display
            break
    return LabObservation(test_name=name[:128], result=str(result)[:200],
                          interpretation=interpretation, resulted_at=resulted,
                          loinc_code=(loinc[0] if loinc else "")[:16], specimen=specimen[:64],
                          collected_at=collected, laboratory=lab[:128],
                          confirms=interpretation == "positive")
