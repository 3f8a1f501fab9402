"""MODEL_URI → a local directory of artifacts."""

from predictor.artifacts._resolve import ArtifactsError, default_artifacts_uri, resolve_artifacts

__all__ = ["ArtifactsError", "default_artifacts_uri", "resolve_artifacts"]
