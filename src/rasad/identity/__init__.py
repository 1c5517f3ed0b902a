"""Identity: who performs an action. Roles and API tokens arrive with governed promotion."""

from rasad.identity.actor import current_actor

__all__ = ["current_actor"]
