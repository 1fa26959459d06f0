from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from phis.core.accounts.permissions import CorePerm
from phis.core.orgunits.selectors import (
    orgunit_ancestors,
    orgunit_children,
    orgunit_get,
    orgunit_search,
)
from phis.core.ui.decorators import page_requires


@login_required
@page_requires(CorePerm.VIEW_ORGUNITS)
def browse(request, code: str = ""):
    unit = orgunit_get(code=code) if code else None
    q = request.GET.get("q", "").strip()
    context = {
        "unit": unit,
        "ancestors": orgunit_ancestors(unit=unit) if unit else [],
        "children": orgunit_children(parent=unit),
        "q": q,
        "results": orgunit_search(text=q) if q else None,
    }
    template = "orgunits/_children.html" if request.htmx else "orgunits/browse.html"
    return render(request, template, context)
