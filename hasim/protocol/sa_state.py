"""The life cycle of an IKE SA, in a module of its own so the exchange modules that move an SA
through it (``ike_exchanges``) need not import the SA class that holds it (``ike_sa``)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SaState"]


class SaState(StrEnum):
    """Life cycle of an IKE SA."""

    CREATED = "created"
    INIT_SENT = "init-sent"
    AUTH_SENT = "auth-sent"
    INIT_DONE = "init-done"
    ESTABLISHED = "established"
    DELETED = "deleted"
