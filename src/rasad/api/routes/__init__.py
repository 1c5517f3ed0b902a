"""The API's routers, one module per family of verbs, all under ``/api/v1``."""

__all__: list[str] = []
