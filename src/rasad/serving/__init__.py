"""Serving: batch scoring now; the HTTP prediction service arrives in a later issue."""

from rasad.serving.batch import BatchResult

__all__ = ["BatchResult"]
