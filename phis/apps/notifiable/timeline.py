"""Report cards on the patient-360 timeline (phis.core.people.timeline).

One entry per card of the person (and of every person merged into it) that the user may
see through ``card_visible_for``: dated at the diagnosis, titled with the disease, the
summary giving card number, classification, status, reporting unit and, for a reviewed
card, whether the county CDC's review carries an electronic signature. Drafts are the
clinician's unfinished work, not part of the patient's history, and are left out.
Registered from ``NotifiableConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext as _

from phis.apps.notifiable.models import CardStatus, CardType, CaseClassification
from phis.apps.notifiable.selectors import card_visible_for
from phis.core.codes.selectors import value_set
from phis.core.people.timeline import TimelineEntry

SOURCE_KEY = "notifiable.cards"
MODULE = "notifiable"
MAX_ENTRIES = 500  # a person with more cards than this is a data problem, not a timeline


def _disease_names() -> dict[str, tuple[str, str]]:
    """code → (Chinese, English) of diseases and sub-types (cached value set)."""
    return {item.code: (item.display_zh or item.code, item.display_en or item.display_zh
                        or item.code)
            for item in value_set("notifiable-disease", include_inactive=True)}


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def _review_note(card) -> str:
    if card.status != CardStatus.REVIEWED and not card.review_signature_id:
        return ""
    if card.review_signature_id:
        return _("审核已电子签名")
    return _("审核未签名")


def card_timeline_entries(*, person_ids: list[int], user) -> Iterator[TimelineEntry]:
    """The person's report cards visible to ``user``, for the patient-360 timeline."""
    if not person_ids:
        return
    names = _disease_names()
    cards = (card_visible_for(user=user)
             .filter(person_id__in=list(person_ids))
             .exclude(status=CardStatus.DRAFT)
             .select_related("reporting_unit")
             .only("pk", "card_number", "card_type", "status", "disease_code", "subtype_code",
                   "case_classification", "diagnosis_at", "review_signature_id",
                   "reporting_unit__code", "reporting_unit__name")
             .order_by("-diagnosis_at", "-pk")[:MAX_ENTRIES])
    for card in cards:
        zh, en = names.get(card.subtype_code or card.disease_code,
                           names.get(card.disease_code, (card.disease_code,) * 2))
        parts = [card.card_number, _label(CaseClassification, card.case_classification),
                 _label(CardStatus, card.status)]
        if card.card_type == CardType.CORRECTED:
            parts.append(_label(CardType, card.card_type))
        note = _review_note(card)
        if note:
            parts.append(note)
        parts.append(card.reporting_unit.name)
        yield TimelineEntry(
            at=card.diagnosis_at, module=MODULE, kind="report_card",
            title=f"传染病报告：{zh}", title_en=f"Notifiable disease report: {en}",
            summary=" · ".join(p for p in parts if p), url=f"/notifiable/cards/{card.pk}/",
            org_unit_code=card.reporting_unit.code, record_type="notifiable.reportcard",
            record_id=str(card.pk))


def register() -> None:
    """Put report cards on the timeline (idempotent: a key is registered once)."""
    from phis.core.people.timeline import register_timeline_source

    register_timeline_source(SOURCE_KEY, "传染病报告卡", "Notifiable disease report cards",
                             card_timeline_entries)
