"""What every page needs: the modules the user may open (home portal and navigation)."""

from phis.core.ui.portal import modules_for


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"portal_modules": []}
    return {"portal_modules": modules_for(user)}
