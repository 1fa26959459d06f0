"""A person's export as a FHIR R4 Bundle (type ``collection``): the Patient with every
identifier and its links to merged persons, one Provenance naming the source records the MPI
linked, and the resources timeline sources contribute through their optional ``fhir``
callable (phis.core.people.timeline).

Built and validated with ``fhir.resources`` (its ``R4B`` models: Patient, Bundle and
Provenance are the same in R4 and R4B). Identifiers and phone are masked, and the Patient is
labelled MASKED, unless the caller's role may unmask and gives a reason; then the real values
are exported and the export is audited as IDENTIFIER_UNMASKED. Every export writes an
access-audit row.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from phis.core.accounts.permissions import CorePerm
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.crypto.fields import decrypt_text
from phis.core.exceptions import FieldError, PermissionDenied, ValidationFailed
from phis.core.people.models import IdType, Person, PersonStatus, Sex
from phis.core.people.mpi_selectors import (
    person_identifiers_for,
    person_links_for,
    person_merged_ids,
)
from phis.core.people.selectors import person_get_visible
from phis.core.people.timeline import timeline_sources

log = logging.getLogger(__name__)

SECURITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
GENDER = {Sex.MALE: "male", Sex.FEMALE: "female", Sex.UNSPECIFIED: "unknown",
          Sex.UNKNOWN: "unknown"}


def _system(kind: str) -> str:
    base = getattr(settings, "PHIS_FHIR_SYSTEM_BASE", "urn:phis:")
    return f"{base}{kind}"


def _patient(person: Person, identifiers, merged_ids: list[int], clear: bool) -> dict:
    idents = []
    for i in identifiers:
        value = decrypt_text(i.number_encrypted, purpose=f"person.id.{i.id_type}") if clear \
            else i.number_masked
        label = IdType(i.id_type).label if i.id_type in IdType.values else i.id_type
        idents.append({"use": "official" if i.is_primary else "secondary",
                       "type": {"text": str(label)},
                       "system": _system(f"id:{i.id_type}"), "value": value,
                       **({"assigner": {"display": i.source}} if i.source else {})})
    patient: dict = {
        "resourceType": "Patient", "id": str(person.pk),
        "identifier": idents or None,
        "active": person.status == PersonStatus.ACTIVE,
        "name": [{"use": "official", "text": person.name}],
        "gender": GENDER.get(person.sex, "unknown"),
    }
    if not clear:
        patient["meta"] = {"security": [{"system": SECURITY_SYSTEM, "code": "MASKED",
                                         "display": "masked"}]}
    if person.birth_date:
        patient["birthDate"] = person.birth_date.isoformat()
    if person.deceased_date:
        patient["deceasedDateTime"] = person.deceased_date.isoformat()
    phone = decrypt_text(person.phone_encrypted, purpose="person.phone") if clear \
        else person.phone_masked
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone}]
    if person.address_unit_id:
        address = {"use": "home", "district": person.address_unit.name,
                   "country": person.nationality or "CHN"}
        if clear:
            text = decrypt_text(person.address_text_encrypted, purpose="person.address")
            if text:
                address["text"] = text
        patient["address"] = [address]
    links = [{"other": {"reference": f"Patient/{pk}"}, "type": "replaces"}
             for pk in merged_ids if pk != person.pk]
    if person.status == PersonStatus.MERGED and person.merged_into_id:
        links.append({"other": {"reference": f"Patient/{person.merged_into_id}"},
                      "type": "replaced-by"})
    if links:
        patient["link"] = links
    return {k: v for k, v in patient.items() if v is not None}


def _provenance(person: Person, links, now: str) -> dict | None:
    if not links:
        return None
    return {
        "resourceType": "Provenance", "id": f"mpi-{person.pk}",
        "target": [{"reference": f"Patient/{person.pk}"}],
        "recorded": now,
        "activity": {"text": "master patient index linkage"},
        "agent": [{"who": {"display": "PHIS MPI"}}],
        "entity": [{"role": "source", "what": {
            "identifier": {"system": _system(f"source:{link.source}"),
                           "value": link.source_key},
            "display": f"{link.source}:{link.source_key} ({link.method}"
                       + (f", p={link.match_probability:.3f}"
                          if link.match_probability is not None else "") + ")"}}
            for link in links],
    }


def person_fhir_bundle(*, user, person_id: int, reason: str = "", base_url: str = "") -> dict:
    """The person's Bundle as JSON-ready data (scoped, validated, access-audited).
    ``base_url``: the FHIR base the entries' full URLs and relative references resolve
    against (default ``settings.PHIS_FHIR_BASE_URL``)."""
    base = (base_url or getattr(settings, "PHIS_FHIR_BASE_URL", "")
            or "https://phis.invalid/fhir/").rstrip("/") + "/"
    reason = (reason or "").strip()
    clear = bool(reason)
    if clear and not user.has_phis_perm(CorePerm.UNMASK_IDENTIFIERS):
        raise PermissionDenied("您的角色不能导出完整证件号码",
                               "Your role may not export full identifiers")
    if len(reason) > 200:
        raise ValidationFailed([FieldError("reason", "too_long", "理由过长（最多200字）",
                                           "The reason is too long (200 characters at most)")])
    person = person_get_visible(user=user, person_id=person_id)
    ids = person_merged_ids(person_id=person.pk)
    now = timezone.now().isoformat(timespec="seconds")
    resources = [_patient(person, person_identifiers_for(person_ids=[person.pk]), ids, clear)]
    provenance = _provenance(person, list(person_links_for(person_ids=ids)), now)
    if provenance:
        resources.append(provenance)
    for source in timeline_sources():
        if source.fhir is None:
            continue
        try:
            extra = [r for r in source.fhir(person_ids=list(ids), user=user)
                     if isinstance(r, dict) and r.get("resourceType")]
            for r in extra:  # each contributed resource must itself be valid
                get_fhir_model_class(r["resourceType"]).model_validate(r)
        except Exception:
            log.exception("FHIR resources of timeline source %s failed", source.key)
            continue
        resources.extend(extra)
    bundle = Bundle.model_validate({
        "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
        "timestamp": now,
        "identifier": {"system": _system("export"), "value": f"person-{person.pk}-{now}"},
        "entry": [{"fullUrl": f"{base}{r['resourceType']}/{r.get('id', k)}", "resource": r}
                  for k, r in enumerate(resources)],
    })
    audit_access(object_type="people.person", object_id=person.pk, person_id=person.pk,
                 purpose=reason or "FHIR导出 FHIR export",
                 event=AuditEventType.IDENTIFIER_UNMASKED if clear
                 else AuditEventType.RECORD_EXPORTED,
                 detail={"format": "fhir-r4-bundle", "masked": not clear,
                         "entries": len(resources)})
    return bundle.model_dump(mode="json", exclude_none=True)
