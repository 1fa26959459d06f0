"""``{% load esign %}{% esign_signatures record %}`` shows a record's signatures and their
verification status on the record's own page (the page has already checked access).
``check_label``, ``verification_label`` and ``certificate_status_label`` put a check name, a
verification status and a certificate status into the page's language."""

from django import template
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from phis.apps.esign.services import CHECK_LABELS, signatures_with_status

register = template.Library()

# "有效" alone is a certificate's "Active"; a verification outcome is "Valid".
_STATUS_LABELS = {"valid": pgettext_lazy("signature verification", "有效"),
                  "invalid": pgettext_lazy("signature verification", "无效"),
                  "indeterminate": pgettext_lazy("signature verification", "无法确定")}
_CERTIFICATE_STATUS_LABELS = {"active": gettext_lazy("有效"), "revoked": gettext_lazy("已吊销"),
                              "expired": gettext_lazy("已过期"),
                              "not_yet_valid": gettext_lazy("尚未生效")}


@register.inclusion_tag("esign/_signatures.html", takes_context=True)
def esign_signatures(context, subject, payload=None):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"items": signatures_with_status(subject, payload=payload, by=user)}


@register.filter
def check_label(name: str) -> str:
    """``"chain"`` → 证书链 / Certificate chain."""
    return gettext(CHECK_LABELS[name]) if name in CHECK_LABELS else name


@register.filter
def verification_label(status: str) -> str:
    """``"valid"`` → 有效 / Valid (unknown statuses shown as they are)."""
    return str(_STATUS_LABELS.get(status, status))


@register.filter
def certificate_status_label(status: str) -> str:
    """``Certificate.status`` (``"revoked"``) → 已吊销 / Revoked."""
    return str(_CERTIFICATE_STATUS_LABELS.get(status, status))
