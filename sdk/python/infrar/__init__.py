"""infrar: the provider-agnostic SDK of cratis (docs/transform.md).

Application code calls ``infrar.storage``, ``infrar.database`` and ``infrar.messaging`` and runs as it is during development: each call goes to
the provider named by the ``INFRAR_PROVIDER`` environment variable (``aws``, ``gcp`` or ``azure``).
Before deploy, ``cratis transform --provider P`` rewrites the calls into that provider's own
library, so the deployed code does not import this package.
"""

__version__ = "0.1.0"
