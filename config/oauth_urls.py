"""The OAuth2/OIDC provider endpoints PHIS serves under /o/ (C1 unified identity).

Only the protocol endpoints: client applications are registered by a system administrator
from the command line (docs/modules/accounts.md), never through django-oauth-toolkit's
self-service management pages or dynamic client registration, which any logged-in user
could reach.
"""

from oauth2_provider import urls as dot

app_name = "oauth2_provider"
urlpatterns = dot.metadata_urlpatterns + dot.base_urlpatterns + dot.oidc_urlpatterns
