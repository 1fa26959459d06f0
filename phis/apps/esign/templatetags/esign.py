"""``{% load esign %}{% esign_signatures record %}`` shows a record's signatures and their
verification status on the record's own page (the page has already checked access)."""

from django import template

from phis.apps.esign.services import signatures_with_status

register = template.Library()


@register.inclusion_tag("esign/_signatures.html", takes_context=True)
def esign_signatures(context, subject, payload=None):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"items": signatures_with_status(subject, payload=payload, by=user)}
