import functools

from django.core.exceptions import PermissionDenied


def page_requires(*perms: str):
    """The page twin of phis.core.api.requires: 403 page unless the role holds every perm."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not all(request.user.has_phis_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.phis_permissions = tuple(str(p) for p in perms)
        return wrapper

    return decorator
