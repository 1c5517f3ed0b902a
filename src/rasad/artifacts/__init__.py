"""Artifacts: immutable, content-addressed blobs over fsspec (local folder by default)."""

from rasad.artifacts.store import ArtifactStore, BlobInfo, TempFile, sha256_file

__all__ = ["ArtifactStore", "BlobInfo", "TempFile", "sha256_file"]
