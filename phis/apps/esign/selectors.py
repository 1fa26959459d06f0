"""Reads of certificates and signatures.

Certificates are public inside the platform (they carry no health data). Signatures are
scoped: a user sees the signatures made by people of org units in their subtrees, and
always their own (``scope_q`` from ``phis.core.orgunits.scoping``). A record's page that
is already scoped shows its signatures through :func:`signatures_for`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from phis.apps.esign.models import Certificate, CertKind, CrlIssue, Signature
from phis.core.exceptions import NotFound
from phis.core.orgunits.scoping import scope_q


def subject_key(subject: Any) -> tuple[str, str]:
    """``(subject_type, subject_id)`` for a model instance (``app_label.model``, pk), a
    ``(type, id)`` pair or a ``"type:id"`` string."""
    if hasattr(subject, "_meta") and hasattr(subject, "pk"):
        return subject._meta.label_lower, str(subject.pk)
    if isinstance(subject, tuple | list) and len(subject) == 2:
        return str(subject[0]), str(subject[1])
    if isinstance(subject, str) and ":" in subject:
        kind, _, ident = subject.rpartition(":")
        return kind, ident
    raise ValueError("subject: a model instance, (type, id) or 'type:id'")


def signatures_for(subject: Any) -> QuerySet[Signature]:
    """All signatures of one subject, oldest first (the caller has already checked that
    the user may see the subject)."""
    kind, ident = subject_key(subject)
    return (Signature.objects.filter(subject_type=kind, subject_id=ident)
            .select_related("signer", "certificate", "org_unit").order_by("signed_at", "id"))


def signature_visible_for(user) -> QuerySet[Signature]:
    return (Signature.objects.filter(scope_q(user, "org_unit") | Q(signer=user))
            .select_related("signer", "certificate", "org_unit"))


def signature_list(*, user, subject_type: str = "", subject_id: str = "",
                   mine: bool = False) -> QuerySet[Signature]:
    qs = signature_visible_for(user)
    if subject_type:
        qs = qs.filter(subject_type=subject_type)
    if subject_id:
        qs = qs.filter(subject_id=subject_id)
    if mine:
        qs = qs.filter(signer=user)
    return qs.order_by("-signed_at", "-id")


def signature_get(*, user, public_id) -> Signature:
    sig = signature_visible_for(user).filter(public_id=public_id).first()
    if sig is None:
        raise NotFound("签名", "signature")
    return sig


def signature_by_value_hash(sha256_hex: str) -> Signature | None:
    return (Signature.objects.filter(signature_sha256=sha256_hex)
            .select_related("signer", "certificate").first())


def certificate_list(*, user_id: int | None = None, kind: str = "", profile: str = "",
                     status: str = "") -> QuerySet[Certificate]:
    qs = Certificate.objects.select_related("user", "org_unit", "issuer_cert")
    if user_id:
        qs = qs.filter(user_id=user_id)
    if kind:
        qs = qs.filter(kind=kind)
    if profile:
        qs = qs.filter(profile=profile)
    now = timezone.now()
    if status == "active":
        qs = qs.filter(revoked_at__isnull=True, not_after__gte=now, not_before__lte=now)
    elif status == "revoked":
        qs = qs.filter(revoked_at__isnull=False)
    elif status == "expired":
        qs = qs.filter(not_after__lt=now)
    return qs.order_by("-not_before", "-id")


def certificate_get(*, public_id) -> Certificate:
    cert = Certificate.objects.select_related("user", "org_unit", "issuer_cert") \
        .filter(public_id=public_id).first()
    if cert is None:
        raise NotFound("证书", "certificate")
    return cert


def certificate_by_fingerprint(fingerprint: str) -> Certificate | None:
    return Certificate.objects.filter(fingerprint=fingerprint).first()


def certificate_active_for_user(*, user, profile: str = "") -> Certificate | None:
    now = timezone.now()
    qs = Certificate.objects.filter(user=user, kind=CertKind.PERSON, revoked_at__isnull=True,
                                    not_before__lte=now, not_after__gte=now,
                                    signing_key__isnull=False)
    if profile:
        qs = qs.filter(profile=profile)
    return qs.order_by("-not_before", "-id").first()


def certificate_active_for_org(*, org_unit, profile: str = "") -> Certificate | None:
    now = timezone.now()
    qs = Certificate.objects.filter(org_unit=org_unit, kind=CertKind.INSTITUTION,
                                    revoked_at__isnull=True, not_before__lte=now,
                                    not_after__gte=now, signing_key__isnull=False)
    if profile:
        qs = qs.filter(profile=profile)
    return qs.order_by("-not_before", "-id").first()


def ca_certificate(*, profile: str, kind: str) -> Certificate | None:
    """The platform's current root / issuing / TSA certificate of a profile."""
    now = timezone.now()
    return (Certificate.objects.filter(profile=profile, kind=kind, is_external=False,
                                       revoked_at__isnull=True, not_after__gte=now)
            .order_by("-not_before", "-id").first())


def chain_of(cert: Certificate) -> list[Certificate]:
    """The certificate and its issuers up to a self-signed or unknown issuer."""
    chain = [cert]
    seen = {cert.pk}
    while chain[-1].issuer_cert_id and chain[-1].issuer_cert_id not in seen:
        issuer = Certificate.objects.get(pk=chain[-1].issuer_cert_id)
        chain.append(issuer)
        seen.add(issuer.pk)
    return chain


def trust_anchors(profile: str = "") -> QuerySet[Certificate]:
    qs = Certificate.objects.filter(is_trust_anchor=True)
    return qs.filter(profile=profile) if profile else qs


def certificates_by_subject_hash(subject_hash: str) -> QuerySet[Certificate]:
    return Certificate.objects.filter(subject_hash=subject_hash).order_by("-not_before")


def revoked_by_issuer(issuer: Certificate) -> QuerySet[Certificate]:
    return Certificate.objects.filter(issuer_cert=issuer, revoked_at__isnull=False) \
        .order_by("revoked_at")


def crl_latest(issuer: Certificate) -> CrlIssue | None:
    return CrlIssue.objects.filter(issuer=issuer).order_by("-number").first()
