"""ptrack's settings, read from ``django.conf.settings`` each time they are used.

Reading lazily keeps ``override_settings`` working; values derived from settings
(the serializer, the imported encoder) are cached with ``cached()`` and dropped,
with the settings kept here, by this module's ``setting_changed`` receiver.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULT_MAX_AGE: float | timedelta | None = None
DEFAULT_MAX_TOKEN_LENGTH = 4096
DEFAULT_MAX_URL_LENGTH = 2000
DEFAULT_ENCODER = "ptrack.encoders.SignedEncoder"
DEFAULT_RECORDER_TIMEOUT: float | None = None
DEFAULT_BATCH_SIZE = 1
DEFAULT_BATCH_SECONDS = 0.1
# Every kind of load reaches recorders, labelled, as sending services report
# machine opens flagged rather than dropped (README, "Truthful opens").
DEFAULT_RECORD_KINDS = ("human", "mail_proxy", "privacy_prefetch", "security_scanner", "bot")
DEFAULT_MACHINE_WINDOW = 10.0
DEFAULT_CLASSIFIER = "ptrack.classifier.classify"
DEFAULT_PRIVATE_RELAY_URL = "https://mask-api.icloud.com/egress-ip-ranges.csv"
DEFAULT_CLICK_FALLBACK_URL: str | None = None
DEFAULT_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# With a consent source set: a recipient it does not know has given no consent,
# and a link naming nobody is counted without saying who loaded it.
DEFAULT_CONSENT_DEFAULT = "none"
DEFAULT_CONSENT_UNNAMED = "aggregate"
DEFAULT_CONSENTS_CACHE = "default"
# ptrack.store: keep its rows about people until forgotten; record in a task worker.
DEFAULT_STORE_RETENTION: timedelta | None = None
DEFAULT_STORE_BACKGROUND = True
DEFAULT_STORE_PURGE_BATCH = 1000
# As set, for the system checks: None means not set.
DEFAULT_RAW_SECRET: object = None
DEFAULT_RAW_SECRET_FALLBACKS: object = ()
DEFAULT_RAW_EMAIL_BACKEND: object = None

_UNSET: Any = object()
_T = TypeVar("_T")


_values: dict[str, Any] = {}
_generation = [0]  # bumped by clear_caches()
_lock = threading.Lock()


def _remembered(getter: Callable[[Settings], _T]) -> property:
    """A setting read on every request, kept until a relevant setting changes.

    A missing setting costs Django's settings object a raised AttributeError
    on every read; ``clear_caches()`` forgets the kept values.
    """
    name = getter.__name__

    def get(self: Settings) -> _T:
        try:
            return _values[name]  # type: ignore[no-any-return]
        except KeyError:
            generation = _generation[0]
            value = getter(self)
            with _lock:  # unless the settings changed while it was read, in another thread
                if generation == _generation[0]:
                    _values[name] = value
            return value

    return property(get, doc=getter.__doc__)


class Settings:
    """Typed, lazy access to every ``PTRACK_*`` setting and its default."""

    @_remembered
    def APP_URL(self) -> str:
        return getattr(settings, "PTRACK_APP_URL", "")

    @property
    def SECRET(self) -> str | bytes:
        """The signing key: ``PTRACK_SECRET`` when set, else ``SECRET_KEY``."""
        secret = self.RAW_SECRET
        if not secret:  # None, "" or b"": an empty key would sign with no key at all
            return self.SECRET_KEY
        return secret  # type: ignore[return-value]

    @property
    def RAW_SECRET(self) -> object:
        """``PTRACK_SECRET`` as set, of whatever type, for the checks; ``None``: not set."""
        return getattr(settings, "PTRACK_SECRET", DEFAULT_RAW_SECRET)

    @property
    def SECRET_KEY(self) -> str | bytes:
        """Django's ``SECRET_KEY``; raises ``ImproperlyConfigured`` when it is empty."""
        return settings.SECRET_KEY

    @property
    def SECRET_FALLBACKS(self) -> Sequence[str | bytes]:
        """Retired keys still accepted, newest first, as Django orders them.

        Fallbacks follow the key they back up: ``PTRACK_SECRET_FALLBACKS`` when
        set; otherwise ``SECRET_KEY_FALLBACKS`` if ptrack signs with
        ``SECRET_KEY``, and none if it signs with its own ``PTRACK_SECRET``.
        """
        fallbacks = getattr(settings, "PTRACK_SECRET_FALLBACKS", _UNSET)
        if fallbacks is not _UNSET:
            return fallbacks  # type: ignore[no-any-return]
        if self.RAW_SECRET:
            return ()
        return getattr(settings, "SECRET_KEY_FALLBACKS", ())

    @property
    def RAW_SECRET_FALLBACKS(self) -> object:
        """``PTRACK_SECRET_FALLBACKS`` as set, of whatever type, for the checks."""
        return getattr(settings, "PTRACK_SECRET_FALLBACKS", DEFAULT_RAW_SECRET_FALLBACKS)

    @_remembered
    def MAX_AGE(self) -> float | timedelta | None:
        return getattr(settings, "PTRACK_MAX_AGE", DEFAULT_MAX_AGE)

    @_remembered
    def MAX_TOKEN_LENGTH(self) -> int:
        return getattr(settings, "PTRACK_MAX_TOKEN_LENGTH", DEFAULT_MAX_TOKEN_LENGTH)

    @_remembered
    def MAX_URL_LENGTH(self) -> int:
        return getattr(settings, "PTRACK_MAX_URL_LENGTH", DEFAULT_MAX_URL_LENGTH)

    @_remembered
    def RECORDER_TIMEOUT(self) -> float | None:
        """Seconds a response waits for inline recorders; ``None`` waits for them all."""
        return getattr(settings, "PTRACK_RECORDER_TIMEOUT", DEFAULT_RECORDER_TIMEOUT)

    @_remembered
    def BATCH_SIZE(self) -> int:
        """Background events per task; 1 enqueues each load during its request."""
        return getattr(settings, "PTRACK_BATCH_SIZE", DEFAULT_BATCH_SIZE)

    @_remembered
    def BATCH_SECONDS(self) -> float:
        """Longest a gathered background event waits to be enqueued."""
        return getattr(settings, "PTRACK_BATCH_SECONDS", DEFAULT_BATCH_SECONDS)

    @property
    def RECORD_KINDS(self) -> Sequence[str]:
        """The kinds of load (``ptrack.Kind`` values) that reach recorders at all."""
        return getattr(settings, "PTRACK_RECORD_KINDS", DEFAULT_RECORD_KINDS)

    @property
    def MACHINE_WINDOW(self) -> float:
        """Seconds after issue within which a browser's load is taken for a scanner's."""
        return getattr(settings, "PTRACK_MACHINE_WINDOW", DEFAULT_MACHINE_WINDOW)

    @property
    def EXTRA_RULES(self) -> Sequence[Any]:
        """The site's own ``(user-agent regex, kind, reason)`` rules, tried first."""
        return getattr(settings, "PTRACK_EXTRA_RULES", ())

    @property
    def EXTRA_NETWORKS(self) -> Sequence[Any]:
        """The site's own ``(prefix, kind, reason)`` networks, tried before the shipped ones."""
        return getattr(settings, "PTRACK_EXTRA_NETWORKS", ())

    @property
    def CLASSIFIER(self) -> str:
        return getattr(settings, "PTRACK_CLASSIFIER", None) or DEFAULT_CLASSIFIER

    @property
    def PRIVATE_RELAY_FILE(self) -> str | None:
        """Where Apple's iCloud Private Relay egress list is kept; ``None``: not used."""
        return getattr(settings, "PTRACK_PRIVATE_RELAY_FILE", None)

    @property
    def PRIVATE_RELAY_URL(self) -> str:
        return getattr(settings, "PTRACK_PRIVATE_RELAY_URL", None) or DEFAULT_PRIVATE_RELAY_URL

    @_remembered
    def HONOR_OPT_OUT(self) -> bool:
        """Record nothing for a request with ``Sec-GPC: 1`` or ``DNT: 1``."""
        return getattr(settings, "PTRACK_HONOR_OPT_OUT", False)

    @_remembered
    def ANONYMIZE_IP(self) -> bool:
        """Give recorders the IPv4 /24 or IPv6 /48 network instead of the address."""
        return getattr(settings, "PTRACK_ANONYMIZE_IP", False)

    @property
    def CLICK_FALLBACK_URL(self) -> str | None:
        """Where a click link that does not verify redirects; ``None`` answers 404."""
        return getattr(settings, "PTRACK_CLICK_FALLBACK_URL", DEFAULT_CLICK_FALLBACK_URL)

    @property
    def EMAIL_BACKEND(self) -> str:
        """The backend that ``ptrack.mail.TrackingEmailBackend`` hands tracked mail to."""
        return getattr(settings, "PTRACK_EMAIL_BACKEND", None) or DEFAULT_EMAIL_BACKEND

    @property
    def RAW_EMAIL_BACKEND(self) -> object:
        """``PTRACK_EMAIL_BACKEND`` as set, of whatever type, for the checks; ``None``: not set."""
        return getattr(settings, "PTRACK_EMAIL_BACKEND", DEFAULT_RAW_EMAIL_BACKEND)

    @_remembered
    def CONSENT(self) -> Any:
        """The site's consent source (a dotted path, or the callable); ``None``: no checks."""
        return getattr(settings, "PTRACK_CONSENT", None)

    @property
    def CONSENT_DEFAULT(self) -> str:
        """The level of a recipient the consent source does not know (answers ``None``)."""
        return getattr(settings, "PTRACK_CONSENT_DEFAULT", DEFAULT_CONSENT_DEFAULT)

    @property
    def CONSENT_UNNAMED(self) -> str:
        """The level of a load whose link names no recipient, with a consent source set."""
        return getattr(settings, "PTRACK_CONSENT_UNNAMED", DEFAULT_CONSENT_UNNAMED)

    @property
    def CONSENT_WITHDRAW(self) -> Any:
        """What records a recipient's withdrawal from their link (a callable taking the
        key, or its dotted path); ``None``: withdrawal links are not offered."""
        return getattr(settings, "PTRACK_CONSENT_WITHDRAW", None)

    @property
    def CONSENTS_CACHE(self) -> str:
        """The alias in ``CACHES`` through which ``ptrack.consents.level()`` reads levels:
        one that every process shares (Redis, Memcached), for a change to reach them all."""
        return getattr(settings, "PTRACK_CONSENTS_CACHE", DEFAULT_CONSENTS_CACHE)

    @property
    def MESSAGE_RECIPIENT(self) -> Any:
        """What names a marked message's recipient for the backend when the message does
        not: a callable taking the message (or its dotted path); ``None``: nothing."""
        return getattr(settings, "PTRACK_MESSAGE_RECIPIENT", None)

    @property
    def UTM(self) -> Any:
        """The UTM tags of every tracked email: a mapping such as ``{"medium": "email"}``,
        or a callable taking the message (or its dotted path); ``None``: none."""
        return getattr(settings, "PTRACK_UTM", None)

    @property
    def TRACK_UNSUBSCRIBE(self) -> bool:
        """Track unsubscribe links too (those in ``List-Unsubscribe`` or marked as such)."""
        return getattr(settings, "PTRACK_TRACK_UNSUBSCRIBE", False)

    @property
    def CONSENT_TIMEOUT(self) -> float | None:
        """Seconds a lookup may take before it counts as ``"none"``; ``None``: no limit."""
        return getattr(settings, "PTRACK_CONSENT_TIMEOUT", None)

    @property
    def STORE_RETENTION(self) -> Any:
        """How long ``ptrack.store`` keeps its rows about messages and events (a timedelta,
        or days); ``None``: until forgotten. Campaign numbers are kept regardless."""
        return getattr(settings, "PTRACK_STORE_RETENTION", DEFAULT_STORE_RETENTION)

    @property
    def STORE_CLIENT(self) -> Any:
        """Whether ``ptrack.store`` keeps each event's IP address and User-Agent."""
        return getattr(settings, "PTRACK_STORE_CLIENT", False)

    @_remembered
    def STORE_BACKGROUND(self) -> Any:
        """Whether ``ptrack.store`` records in a task worker (in batches with
        ``PTRACK_BATCH_SIZE``) rather than during the request."""
        return getattr(settings, "PTRACK_STORE_BACKGROUND", DEFAULT_STORE_BACKGROUND)

    @property
    def STORE_PURGE_BATCH(self) -> Any:
        """Rows ``ptrack.store``'s purge deletes per statement."""
        return getattr(settings, "PTRACK_STORE_PURGE_BATCH", DEFAULT_STORE_PURGE_BATCH)

    @property
    def ENCODER(self) -> str:
        return getattr(settings, "PTRACK_ENCODER", None) or DEFAULT_ENCODER

    @property
    def LEGACY_SECRET(self) -> str | None:
        """The ``PTRACK_SECRET`` of django-ptrack 3.x, whose links are still read; None: none."""
        return getattr(settings, "PTRACK_LEGACY_SECRET", None)

    @property
    def LEGACY_UNTIL(self) -> datetime | date | None:
        """When links from django-ptrack 3.x stop recording; None: never."""
        return getattr(settings, "PTRACK_LEGACY_UNTIL", None)


conf = Settings()


_caches: list[Callable[[], Any]] = []


def cached(func: Callable[[], _T]) -> Callable[[], _T]:
    """Cache a value derived from settings until a relevant setting changes."""
    wrapper = functools.cache(func)
    _caches.append(wrapper.cache_clear)
    return wrapper


def clear_caches() -> None:
    with _lock:
        _generation[0] += 1
        _values.clear()
    for clear in _caches:
        clear()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("PTRACK_", "SECRET_KEY")):
        clear_caches()
