"""Artifacts: immutable, content-addressed blobs over fsspec (local folder by default)."""

from rasad.artifacts.store import ArtifactStore, BlobInfo, sha256_file

__all__ = ["ArtifactStore", "BlobInfo", "sha256_file"]
