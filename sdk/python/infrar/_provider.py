"""Which provider an SDK call goes to: the INFRAR_PROVIDER environment variable."""
import os

PROVIDERS = ("aws", "gcp", "azure")


class ProviderError(RuntimeError):
    """INFRAR_PROVIDER is unset or names no known provider."""


def current():
    """The provider of this process: INFRAR_PROVIDER, checked on every call."""
    name = os.environ.get("INFRAR_PROVIDER", "")
    if name not in PROVIDERS:
        raise ProviderError(
            "INFRAR_PROVIDER must be one of %s, got %r" % (", ".join(PROVIDERS), name))
    return name
