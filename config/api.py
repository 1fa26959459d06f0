"""The one JSON API under /api/ (OpenAPI at /api/docs). Each core part and app adds its
router here."""

from phis.core.api import build_api

api = build_api()

ROUTERS = [
    ("/orgunits", "phis.core.orgunits.api"),
    ("/persons", "phis.core.people.api"),
    ("/audit", "phis.core.audit.api"),
    ("/accounts", "phis.core.accounts.api"),
    ("/codes", "phis.core.codes.api"),
    ("/workflow", "phis.core.workflow.api"),
    ("/notifications", "phis.core.notify.api"),
    ("/esign", "phis.apps.esign.api"),
    ("/notifiable", "phis.apps.notifiable.api"),
    ("/signals", "phis.apps.signals.api"),
    ("/outbreaks", "phis.apps.outbreaks.api"),
    ("/epi", "phis.apps.epi.api"),
    ("/directreport", "phis.apps.directreport.api"),
    ("/keydiseases", "phis.apps.keydiseases.api"),
]


def _mount() -> None:
    import importlib

    for prefix, module_name in ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that part has no API yet
            raise
        api.add_router(prefix, module.router)


_mount()
