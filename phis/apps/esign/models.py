"""B4 electronic signatures: the platform CA's certificates, encrypted signing keys, PIN
state and detached signatures (docs/modules/esign.md)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Profile(models.TextChoices):
    SM2 = "sm2", _("SM2/SM3 国密 (GB/T 32918)")
    ECDSA = "ecdsa", _("ECDSA P-256 / SHA-256")


class CertKind(models.TextChoices):
    ROOT = "root", _("根CA")
    ISSUING = "issuing", _("签发CA")
    TSA = "tsa", _("时间戳服务")
    PERSON = "person", _("个人证书")
    INSTITUTION = "institution", _("机构证书(电子印章)")
    EXTERNAL_CA = "external_ca", _("外部CA证书")
    EXTERNAL = "external", _("外部证书")


class RevocationReason(models.TextChoices):
    # RFC 5280 CRLReason names as asn1crypto spells them
    UNSPECIFIED = "unspecified", _("未说明")
    KEY_COMPROMISE = "key_compromise", _("密钥泄露")
    AFFILIATION_CHANGED = "affiliation_changed", _("单位变更")
    SUPERSEDED = "superseded", _("已更新")
    CESSATION_OF_OPERATION = "cessation_of_operation", _("停止使用")
    CERTIFICATE_HOLD = "certificate_hold", _("暂停")


class Certificate(models.Model):
    """Every certificate the platform knows: its own CA hierarchy and TSA, the staff and
    institution certificates it issued, and certificates imported from outside CAs."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("类型"), max_length=16, choices=CertKind.choices, db_index=True)
    profile = models.CharField(_("算法"), max_length=8, choices=Profile.choices, db_index=True)
    serial_hex = models.CharField(_("序列号"), max_length=80, db_index=True)
    subject_dn = models.CharField(_("主体"), max_length=500)
    issuer_dn = models.CharField(_("签发者"), max_length=500)
    subject_hash = models.CharField(max_length=64, db_index=True)  # SHA-256 of the DER Name
    issuer_hash = models.CharField(max_length=64, db_index=True)
    fingerprint = models.CharField(_("SHA-256指纹"), max_length=64, unique=True)
    der = models.BinaryField(editable=False)
    not_before = models.DateTimeField(_("生效"))
    not_after = models.DateTimeField(_("到期"), db_index=True)
    issuer_cert = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="issued")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.PROTECT, related_name="esign_certificates")
    org_unit = models.ForeignKey("orgunits.OrgUnit", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="esign_certificates")
    is_trust_anchor = models.BooleanField(_("信任锚"), default=False)
    is_external = models.BooleanField(_("外部"), default=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revocation_reason = models.CharField(_("吊销原因"), max_length=32, blank=True,
                                         choices=RevocationReason.choices)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-not_before"]
        verbose_name = _("数字证书")
        verbose_name_plural = _("数字证书")
        indexes = [models.Index(fields=["user", "kind", "profile"])]

    def __str__(self) -> str:
        return f"{self.subject_dn} [{self.serial_hex[:12]}]"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.not_after < timezone.now():
            return "expired"
        if self.not_before > timezone.now():
            return "not_yet_valid"
        return "active"

    @property
    def serial(self) -> int:
        return int(self.serial_hex, 16)


class SigningKey(models.Model):
    """A private key, encrypted at rest (SM4-GCM by default) under a key derived from the
    environment key ``PHIS_SIGNING_KEY_ENCRYPTION_KEY`` and, for people and institutions,
    from the holder's PIN. Never leaves the services layer."""

    certificate = models.OneToOneField(Certificate, on_delete=models.CASCADE,
                                       related_name="signing_key")
    encrypted_key = models.BinaryField(editable=False)
    pin_owner = models.CharField(max_length=40, blank=True, db_index=True)  # PinState owner
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("签名私钥(加密)")
        verbose_name_plural = _("签名私钥(加密)")

    def __str__(self) -> str:
        return f"key of {self.certificate_id}"


class PinState(models.Model):
    """The signing PIN of one holder (``user:<id>`` or ``org:<code>``) and its lockout
    counter: **5** wrong PINs lock signing for **30** minutes (settings
    ``PHIS_ESIGN_PIN_MAX_FAILURES`` / ``PHIS_ESIGN_PIN_LOCK_MINUTES``)."""

    owner = models.CharField(max_length=40, unique=True)
    salt = models.BinaryField(editable=False)
    iterations = models.PositiveIntegerField()
    verifier = models.BinaryField(editable=False)
    kek_id = models.PositiveSmallIntegerField(default=1)
    failures = models.PositiveSmallIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("签名PIN状态")
        verbose_name_plural = _("签名PIN状态")

    def __str__(self) -> str:
        return self.owner


class SignatureKind(models.TextChoices):
    RECORD = "record", _("记录")
    FILE = "file", _("文件")
    PDF = "pdf", _("PDF (PAdES)")


class Signature(models.Model):
    """One detached signature: who, with which certificate, when (server time and trusted
    time-stamp), over what (digest, and the canonical JSON for records), on which subject."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("类型"), max_length=8, choices=SignatureKind.choices)
    subject_type = models.CharField(_("对象类型"), max_length=100, blank=True, db_index=True)
    subject_id = models.CharField(_("对象ID"), max_length=64, blank=True)
    step = models.CharField(_("环节"), max_length=60, blank=True)
    reason = models.CharField(_("签署意见"), max_length=200, blank=True)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                               related_name="esign_signatures", verbose_name=_("签名人"))
    org_unit = models.ForeignKey("orgunits.OrgUnit", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("签名人机构"))
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT,
                                    related_name="signatures")
    profile = models.CharField(max_length=8, choices=Profile.choices)
    algorithm = models.CharField(_("签名算法"), max_length=32)
    distid = models.CharField(max_length=64, blank=True)
    digest_algorithm = models.CharField(max_length=16)
    digest = models.CharField(_("摘要"), max_length=128)
    content_size = models.PositiveBigIntegerField(default=0)
    canonical_version = models.CharField(max_length=20, blank=True)
    payload = models.TextField(_("签名内容(规范JSON)"), blank=True)
    filename = models.CharField(_("文件名"), max_length=255, blank=True)
    signature_value = models.BinaryField(editable=False)
    signature_sha256 = models.CharField(max_length=64, db_index=True)
    cms = models.BinaryField(null=True, blank=True, editable=False)
    timestamp_response = models.BinaryField(null=True, blank=True, editable=False)
    timestamp_time = models.DateTimeField(_("可信时间"), null=True, blank=True)
    tsa_name = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField(_("签名时间"), default=timezone.now)

    class Meta:
        ordering = ["signed_at", "id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]
        verbose_name = _("电子签名")
        verbose_name_plural = _("电子签名")

    def __str__(self) -> str:
        return f"{self.subject_type}:{self.subject_id} by {self.signer_id} at {self.signed_at}"


class CrlIssue(models.Model):
    """Each CRL the issuing CA signed (CRL numbers only grow)."""

    issuer = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="crls")
    number = models.PositiveIntegerField()
    this_update = models.DateTimeField()
    next_update = models.DateTimeField()
    der = models.BinaryField(editable=False)

    class Meta:
        unique_together = [("issuer", "number")]
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"CRL {self.number} of {self.issuer_id}"
