from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/", api.urls),
    path("o/", include("config.oauth_urls", namespace="oauth2_provider")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("phis.core.ops.urls")),
    path("accounts/", include("phis.core.accounts.urls")),
    path("orgunits/", include("phis.core.orgunits.urls")),
    path("persons/", include("phis.core.people.urls")),
    path("audit/", include("phis.core.audit.urls")),
    path("esign/", include("phis.apps.esign.urls")),
    path("signals/", include("phis.apps.signals.urls")),
    path("notifiable/", include("phis.apps.notifiable.urls")),
    path("outbreaks/", include("phis.apps.outbreaks.urls")),
    path("epi/", include("phis.apps.epi.urls")),
    path("directreport/", include("phis.apps.directreport.urls")),
    path("keydiseases/", include("phis.apps.keydiseases.urls")),
    path("", include("phis.core.ui.urls")),
]
