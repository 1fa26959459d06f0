"""A3/A9 report-card API, mounted at /api/notifiable (docs/modules/notifiable.md "API").

Native JSON (one card, or a batch), a FHIR R4 Bundle, CSV/Excel import; the card's
workflow actions; history and lab results. Every error is a 4xx JSON body with field-level
messages in Chinese and English (phis/core/api.py)."""

from dataclasses import asdict
from typing import Any

from django.http import HttpResponse
from ninja import Body, File, Header, Query, Router, Status
from ninja.files import UploadedFile

from phis.apps.notifiable import services
from phis.apps.notifiable.fhir import bundle_to_card
from phis.apps.notifiable.importing import parse_file, template_csv
from phis.apps.notifiable.inputs import CardInput
from phis.apps.notifiable.permissions import NotifiablePerm
from phis.apps.notifiable.schemas import (
    BatchIn,
    CardEventOut,
    CardIn,
    CardOut,
    CardPage,
    CardQuery,
    CheckOut,
    DeleteIn,
    ImportOut,
    LabResultIn,
    LabResultOut,
    ReasonIn,
    ReviewIn,
    ReviseIn,
    SuspectedCountOut,
    UpdateIn,
    VersionIn,
)
from phis.apps.notifiable.selectors import (
    CardFilter,
    card_get_visible,
    card_history,
    card_lab_results,
    card_list,
    suspected_overdue_counts,
)
from phis.core.api import requires
from phis.core.audit.services import audit_access
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import PermissionDenied

router = Router(tags=["A3 notifiable diseases 传染病报告"])


def card_out(card) -> dict:
    return {
        **{f: getattr(card, f) for f in (
            "card_number", "card_type", "status", "version", "source", "external_id",
            "person_id", "patient_name", "parent_name", "id_type", "id_number_masked", "sex",
            "birth_date", "age_value", "age_unit", "work_unit", "phone_masked",
            "residence_category", "county_code", "township_code", "occupation",
            "occupation_other", "disease_code", "subtype_code", "icd10_code",
            "disease_class", "other_disease_text", "original_disease_code",
            "case_classification", "acute_chronic", "onset_date", "diagnosis_at",
            "death_date", "doctor_name", "filled_date", "remarks", "deadline_hours",
            "report_due_at", "reported_at", "reported_late", "review_due_at", "reviewed_at",
            "reviewed_late", "return_reason", "deleted_at", "delete_reason",
            "delete_reason_code", "deleted_after_review", "duplicate_of_id",
            "suspected_due_at", "suspected_outcome", "review_signature_id")},
        "id": card.pk,
        "address_code": card.address_unit.code if card.address_unit_id else "",
        "reporting_unit_code": card.reporting_unit.code,
        "reporting_unit_name": card.reporting_unit.name,
        "duplicate_candidates": list(card.duplicate_candidates or []),
    }


def _input(payload: CardIn) -> CardInput:
    return CardInput(**payload.dict())


def _fresh(request, card_id: int):
    return card_get_visible(user=request.user, card_id=card_id)


def _viewed(card, purpose: str) -> None:
    audit_access(object_type=services.AUDIT_OBJECT, object_id=card.pk,
                 person_id=card.person_id, purpose=purpose)


# --- create, check, batch, FHIR, import (literal paths before /cards/{id}) -----------------

@router.post("/cards", response={200: CardOut, 201: CardOut},
             summary="Report a card (native JSON); Idempotency-Key makes a retry safe")
@requires(NotifiablePerm.REPORT)
def card_create_api(request, payload: CardIn, submit: bool = True,
                    idempotency_key: str = Header("", alias="Idempotency-Key",
                                                  max_length=128)):
    card = services.card_create(user=request.user, data=_input(payload), submit=submit,
                                source="api", idempotency_key=idempotency_key)
    return Status(200 if getattr(card, "replayed", False) else 201, card_out(_fresh(
        request, card.pk)))


@router.post("/check", response=CheckOut,
             summary="Check a card against every rule and look for duplicates (stores nothing)")
@requires(NotifiablePerm.REPORT)
def card_check_api(request, payload: CardIn):
    result = services.card_check(user=request.user, data=_input(payload))
    return {"ok": result.ok,
            "errors": [{"field": f, "code": "invalid", "message": zh, "message_en": en}
                       for f, (zh, en) in result.errors.items()],
            "duplicates": [{"id": c.pk, "card_number": c.card_number,
                            "reporting_unit": c.reporting_unit.name,
                            "diagnosis_at": c.diagnosis_at.isoformat(), "status": c.status}
                           for c in result.duplicates],
            "derived": {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                        for k, v in result.derived.items()}}


@router.post("/batch", response=ImportOut,
             summary="Report many cards in one request (per-item results; good items stored)")
@requires(NotifiablePerm.REPORT)
def card_batch_api(request, payload: BatchIn):
    report = services.cards_import(
        user=request.user, rows=[_input(c) for c in payload.cards], source=payload.source,
        submit=payload.submit, first_row=0)
    return report.as_dict()


@router.post("/fhir", response={200: CardOut, 201: CardOut},
             summary="Report a card as a FHIR R4 Bundle (Patient + Condition "
                     "[+ Observation, Encounter])")
@requires(NotifiablePerm.REPORT)
def card_fhir_api(request, payload: Body[dict[str, Any]],
                  idempotency_key: str = Header("", alias="Idempotency-Key",
                                                max_length=128)):
    unit = request.user.org_unit
    mapped = bundle_to_card(payload, reporting_unit_code=unit.code if unit else "")
    card = services.card_create(user=request.user, data=mapped.card, source="fhir",
                                idempotency_key=idempotency_key)
    replayed = getattr(card, "replayed", False)
    if not replayed:
        for obs in mapped.observations:
            services.card_attach_lab_result(user=request.user, card_id=card.pk,
                                            data=services.LabResultInput(**asdict(obs)))
    return Status(200 if replayed else 201, card_out(_fresh(request, card.pk)))


@router.post("/import", response=ImportOut,
             summary="Import a CSV or Excel (.xlsx) file: per-row errors, good rows stored")
@requires(NotifiablePerm.IMPORT)
def card_import_api(request, file: File[UploadedFile], submit: bool = True):
    content = file.read(30 * 1024 * 1024 + 1)
    parsed = parse_file(file.name or "", content)
    report = services.cards_import(user=request.user, rows=parsed.rows, source="import",
                                   submit=submit, first_row=parsed.first_row)
    for row in report.rows:
        row.errors = parsed.label(row.errors)
    return report.as_dict()


@router.get("/import/template.csv", summary="An empty CSV with the card's column headers",
            response={200: None})
@requires(NotifiablePerm.IMPORT)
def card_import_template_api(request):
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="notifiable-cards.csv"'
    return response


@router.get("/suspected/overdue", response=list[SuspectedCountOut],
            summary="Suspected cases past their limit, counted per facility or county (A9)")
@requires(NotifiablePerm.VIEW_CARDS)
def suspected_overdue_api(request, by: str = Query("facility", pattern="^(facility|county)$")):
    rows = suspected_overdue_counts(user=request.user, by=by)
    if by == "county":
        return [{"key": r["county_code"], "count": r["count"]} for r in rows]
    return [{"key": r["facility_code"], "name": r["facility_name"], "count": r["count"]}
            for r in rows]


# --- list and one card --------------------------------------------------------------------

LIST_COUNT_CAP = 10_000


@router.get("/cards", response=CardPage, summary="Cards in your scope (paged, filtered)")
@requires(NotifiablePerm.VIEW_CARDS)
def card_list_api(request, q: Query[CardQuery]):
    data = q.dict()
    limit, offset = data.pop("limit"), data.pop("offset")
    filters = CardFilter(**data)
    qs = card_list(user=request.user, filters=filters).select_related("address_unit")
    items = list(qs[offset: offset + limit])
    audit_access(object_type=services.AUDIT_OBJECT, object_id="", person_id=None,
                 purpose="报告卡查询 card list", event=AuditEventType.RECORD_SEARCHED,
                 detail={"filters": {k: v for k, v in data.items() if v not in ("", [], None,
                                                                                 False)},
                         "results": len(items)})
    # Counting every card of a county over ten years reads them all; beyond LIST_COUNT_CAP
    # the total is given as "at least" (count_capped) and the caller narrows the filters.
    count = qs.order_by()[:LIST_COUNT_CAP + 1].count()
    return {"count": min(count, LIST_COUNT_CAP), "count_capped": count > LIST_COUNT_CAP,
            "items": [card_out(c) for c in items]}


@router.get("/cards/{card_id}", response=CardOut, summary="One card (access audited)")
@requires(NotifiablePerm.VIEW_CARDS)
def card_detail_api(request, card_id: int):
    card = _fresh(request, card_id)
    _viewed(card, "查看报告卡 view card")
    return card_out(card)


@router.put("/cards/{card_id}", response=CardOut,
            summary="Change a draft or a returned card (optionally report it)")
@requires(NotifiablePerm.REPORT)
def card_update_api(request, card_id: int, payload: UpdateIn):
    card = services.card_update(user=request.user, card_id=card_id, version=payload.version,
                                data=_input(payload.card), submit=payload.submit)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/submit", response=CardOut, summary="Report a draft")
@requires(NotifiablePerm.REPORT)
def card_submit_api(request, card_id: int, payload: VersionIn):
    card = services.card_submit(user=request.user, card_id=card_id, version=payload.version)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/review", response=CardOut,
             summary="Approve (county CDC; e-signature with PIN when configured)")
@requires(NotifiablePerm.REVIEW)
def card_review_api(request, card_id: int, payload: ReviewIn):
    card = services.card_review(user=request.user, card_id=card_id, version=payload.version,
                                pin=payload.pin)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/return", response=CardOut,
             summary="Return to the reporter with a reason")
@requires(NotifiablePerm.REVIEW)
def card_return_api(request, card_id: int, payload: ReasonIn):
    card = services.card_return(user=request.user, card_id=card_id, version=payload.version,
                                reason=payload.reason)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/revise", response=CardOut,
             summary="File a corrected report (订正)")
@requires(NotifiablePerm.REPORT)
def card_revise_api(request, card_id: int, payload: ReviseIn):
    card = services.card_revise(user=request.user, card_id=card_id, version=payload.version,
                                data=_input(payload.card), reason=payload.reason)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/delete", response=CardOut,
             summary="Delete with a reason (a duplicate names the card kept)")
@requires(NotifiablePerm.VIEW_CARDS)  # and, below, reporting (own unit) or reviewing rights
def card_delete_api(request, card_id: int, payload: DeleteIn):
    user = request.user
    if not (user.has_phis_perm(NotifiablePerm.REVIEW) or user.has_phis_perm(
            NotifiablePerm.REPORT)):
        raise PermissionDenied()
    card = services.card_delete(user=user, card_id=card_id, version=payload.version,
                                reason=payload.reason, reason_code=payload.reason_code,
                                duplicate_of_id=payload.duplicate_of_id)
    return card_out(_fresh(request, card.pk))


@router.post("/cards/{card_id}/restore", response=CardOut,
             summary="Restore a card deleted after review")
@requires(NotifiablePerm.REVIEW)
def card_restore_api(request, card_id: int, payload: ReasonIn):
    card = services.card_restore(user=request.user, card_id=card_id, version=payload.version,
                                 reason=payload.reason)
    return card_out(_fresh(request, card.pk))


@router.get("/cards/{card_id}/history", response=list[CardEventOut],
            summary="The card's complete history")
@requires(NotifiablePerm.VIEW_CARDS)
def card_history_api(request, card_id: int):
    return [{"action": e.action, "at": e.at, "by": e.by.username if e.by_id else None,
             "from_status": e.from_status, "to_status": e.to_status, "reason": e.reason,
             "changes": e.changes, "version": e.version}
            for e in card_history(user=request.user, card_id=card_id)]


@router.get("/cards/{card_id}/lab-results", response=list[LabResultOut],
            summary="Lab results attached to the card")
@requires(NotifiablePerm.VIEW_CARDS)
def card_lab_results_api(request, card_id: int):
    return [{"id": r.pk, **{f: getattr(r, f) for f in (
        "test_name", "loinc_code", "specimen", "collected_at", "resulted_at", "result",
        "interpretation", "laboratory", "confirms")}}
        for r in card_lab_results(user=request.user, card_id=card_id)]


@router.post("/cards/{card_id}/lab-results", response={201: LabResultOut},
             summary="Attach a lab result (e.g. the one confirming a suspected case)")
@requires(NotifiablePerm.REPORT)
def card_lab_result_add_api(request, card_id: int, payload: LabResultIn):
    lab = services.card_attach_lab_result(
        user=request.user, card_id=card_id, data=services.LabResultInput(**payload.dict()))
    return Status(201, {"id": lab.pk, **{f: getattr(lab, f) for f in (
        "test_name", "loinc_code", "specimen", "collected_at", "resulted_at", "result",
        "interpretation", "laboratory", "confirms")}})
