"""C4 outbreak-event API (mounted at ``/api/outbreaks/``): open from a signal, link cases,
record steps, contacts and their daily follow-up, close with a report."""

from datetime import date

from ninja import Query, Router, Schema, Status
from pydantic import Field

from phis.apps.outbreaks import selectors, services
from phis.apps.outbreaks.permissions import OutbreakPerm
from phis.apps.outbreaks.schemas import (
    CloseIn,
    ContactIn,
    ContactOut,
    ContactStatusIn,
    FiguresOut,
    FollowUpIn,
    FollowUpOut,
    LinkedCaseOut,
    LinkIn,
    OutbreakDetailOut,
    OutbreakIn,
    OutbreakOut,
    StatusIn,
    StepIn,
    StepOut,
    UnlinkIn,
)
from phis.core.api import requires
from phis.core.audit.services import audit_access

router = Router(tags=["C4 outbreak events 暴发疫情"])


class ListQuery(Schema):
    status: str = Field("", max_length=16)
    disease_code: str = Field("", max_length=48)
    county_code: str = Field("", max_length=12)
    text: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


def _detail(outbreak) -> OutbreakDetailOut:
    figures = selectors.outbreak_figures(outbreak=outbreak)
    base = OutbreakOut.of(outbreak, case_count=figures.cases, contact_count=figures.contacts)
    return OutbreakDetailOut(
        **base.dict(), summary=outbreak.summary, place_text=outbreak.place_text,
        source_of_infection=outbreak.source_of_infection,
        transmission_route=outbreak.transmission_route, measures=outbreak.measures,
        closing_summary=outbreak.closing_summary,
        figures=FiguresOut(**{k: getattr(figures, k) for k in FiguresOut.model_fields}))


@router.get("/", response=list[OutbreakOut], summary="Outbreak events in my area")
@requires(OutbreakPerm.VIEW)
def outbreak_list_api(request, q: Query[ListQuery]):
    qs = selectors.outbreak_list(user=request.user, filters=selectors.OutbreakFilter(
        status=q.status, disease_code=q.disease_code, county_code=q.county_code, text=q.text))
    return [OutbreakOut.of(o) for o in qs[q.offset:q.offset + q.limit]]


@router.post("/", response={201: OutbreakDetailOut}, summary="Open an event (from a signal)")
@requires(OutbreakPerm.MANAGE)
def outbreak_open_api(request, payload: OutbreakIn):
    outbreak = services.outbreak_open(user=request.user,
                                      data=services.OutbreakInput(**payload.dict()))
    return Status(201, _detail(outbreak))


@router.get("/contacts/due", response=list[ContactOut],
            summary="Contacts to follow up today (my units)")
@requires(OutbreakPerm.FOLLOW_UP)
def contacts_due_api(request, day: date | None = None):
    contacts = list(selectors.contacts_due(user=request.user, day=day)[:1000])
    audit_access(object_type="outbreaks.contact", object_id="", person_id=None,
                 purpose="密接随访清单 contacts due", detail={"rows": len(contacts)})
    return [ContactOut.of(c) for c in contacts]


@router.post("/contacts/{contact_id}/follow-ups", response={201: FollowUpOut},
             summary="Record a day's follow-up of a contact")
@requires(OutbreakPerm.FOLLOW_UP)
def follow_up_api(request, contact_id: int, payload: FollowUpIn):
    f = services.contact_follow_up(user=request.user, contact_id=contact_id,
                                   data=services.FollowUpInput(**payload.dict()))
    return Status(201, FollowUpOut(id=f.pk, contact_id=f.contact_id, day=f.day,
                                   reached=f.reached, symptomatic=f.symptomatic,
                                   temperature=float(f.temperature) if f.temperature else None,
                                   symptoms=f.symptoms, note=f.note))


@router.post("/contacts/{contact_id}/status", response=ContactOut,
             summary="End a contact's observation (completed, became a case, lost)")
@requires(OutbreakPerm.FOLLOW_UP)
def contact_status_api(request, contact_id: int, payload: ContactStatusIn):
    return ContactOut.of(services.contact_set_status(
        user=request.user, contact_id=contact_id, version=payload.version,
        status=payload.status, note=payload.note, card_id=payload.card_id))


@router.get("/{outbreak_id}", response=OutbreakDetailOut, summary="One event with its figures")
@requires(OutbreakPerm.VIEW)
def outbreak_detail_api(request, outbreak_id: int):
    return _detail(selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id))


@router.post("/{outbreak_id}/status", response=OutbreakDetailOut, summary="Move the status")
@requires(OutbreakPerm.MANAGE)
def outbreak_status_api(request, outbreak_id: int, payload: StatusIn):
    return _detail(services.outbreak_set_status(user=request.user, outbreak_id=outbreak_id,
                                                version=payload.version,
                                                status=payload.status, note=payload.note))


@router.get("/{outbreak_id}/cases", response=list[LinkedCaseOut], summary="Linked cases")
@requires(OutbreakPerm.VIEW)
def cases_api(request, outbreak_id: int):
    outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
    cases = list(selectors.outbreak_cases(outbreak=outbreak))
    audit_access(object_type="outbreaks.outbreak", object_id=outbreak.pk, person_id=None,
                 purpose="暴发事件病例 outbreak cases", detail={"rows": len(cases)})
    return [LinkedCaseOut(card_id=c.card_id, card_number=c.card.card_number,
                          patient_name=c.card.patient_name, onset_date=c.card.onset_date,
                          case_classification=c.card.case_classification,
                          township_code=c.card.township_code, is_index=c.is_index)
            for c in cases]


@router.post("/{outbreak_id}/cases", response={201: list[int]}, summary="Link cards")
@requires(OutbreakPerm.MANAGE)
def link_api(request, outbreak_id: int, payload: LinkIn):
    created = services.outbreak_link_cases(user=request.user, outbreak_id=outbreak_id,
                                           card_ids=payload.card_ids,
                                           index_card_id=payload.index_card_id)
    return Status(201, [c.card_id for c in created])


@router.post("/{outbreak_id}/cases/{card_id}/unlink", response={204: None},
             summary="Unlink a card (with a reason)")
@requires(OutbreakPerm.MANAGE)
def unlink_api(request, outbreak_id: int, card_id: int, payload: UnlinkIn):
    services.outbreak_unlink_case(user=request.user, outbreak_id=outbreak_id, card_id=card_id,
                                  reason=payload.reason)
    return Status(204, None)


@router.get("/{outbreak_id}/steps", response=list[StepOut], summary="Investigation steps")
@requires(OutbreakPerm.VIEW)
def steps_api(request, outbreak_id: int):
    outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
    return [StepOut(id=s.pk, kind=s.kind, at=s.at, by=s.by.username, summary=s.summary,
                    details=s.details) for s in outbreak.steps.select_related("by")]


@router.post("/{outbreak_id}/steps", response={201: StepOut}, summary="Record a step")
@requires(OutbreakPerm.MANAGE)
def step_add_api(request, outbreak_id: int, payload: StepIn):
    s = services.step_add(user=request.user, outbreak_id=outbreak_id,
                          data=services.StepInput(**payload.dict()))
    return Status(201, StepOut(id=s.pk, kind=s.kind, at=s.at, by=s.by.username,
                               summary=s.summary, details=s.details))


@router.get("/{outbreak_id}/contacts", response=list[ContactOut], summary="Close contacts")
@requires(OutbreakPerm.VIEW)
def contacts_api(request, outbreak_id: int):
    outbreak = selectors.outbreak_get_visible(user=request.user, outbreak_id=outbreak_id)
    contacts = list(selectors.contacts_visible(user=request.user, outbreak=outbreak))
    audit_access(object_type="outbreaks.outbreak", object_id=outbreak.pk, person_id=None,
                 purpose="密切接触者名单 contact list", detail={"rows": len(contacts)})
    return [ContactOut.of(c) for c in contacts]


@router.post("/{outbreak_id}/contacts", response={201: ContactOut}, summary="Add a contact")
@requires(OutbreakPerm.MANAGE)
def contact_add_api(request, outbreak_id: int, payload: ContactIn):
    contact = services.contact_add(user=request.user, outbreak_id=outbreak_id,
                                   data=services.ContactInput(**payload.dict()))
    return Status(201, ContactOut.of(contact))


@router.post("/{outbreak_id}/close", response=OutbreakDetailOut,
             summary="Close with the closing report (optionally e-signed with a PIN)")
@requires(OutbreakPerm.MANAGE)
def close_api(request, outbreak_id: int, payload: CloseIn):
    data = payload.dict()
    version = data.pop("version")
    return _detail(services.outbreak_close(user=request.user, outbreak_id=outbreak_id,
                                           version=version, data=services.ClosingInput(**data)))
