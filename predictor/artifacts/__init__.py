"""MODEL_URI → a complete, verified local directory of artifacts."""

from predictor.artifacts._errors import ArtifactsError
from predictor.artifacts._prefetch import start_prefetch
from predictor.artifacts._resolve import default_artifacts_uri, resolve_artifacts

__all__ = ["ArtifactsError", "default_artifacts_uri", "resolve_artifacts", "start_prefetch"]
