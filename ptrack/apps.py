from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class SimplePtrackConfig(AppConfig):
    """ptrack without autodiscovery: register recorders yourself."""

    name = "ptrack"
    verbose_name = "Tracking pixels"

    def ready(self) -> None:
        from ptrack import checks as ptrack_checks

        checks.register(ptrack_checks.check_settings)
        checks.register(ptrack_checks.check_deploy, checks.Tags.security, deploy=True)
        checks.register(ptrack_checks.check_urls, checks.Tags.urls)
        checks.register(ptrack_checks.check_recorders)


class PtrackConfig(SimplePtrackConfig):
    """The default config: also imports every installed app's ``pixels`` module."""

    default = True

    def ready(self) -> None:
        super().ready()
        from ptrack.registry import autodiscover

        autodiscover()
