"""Drive your predictor in your own tests exactly as AWS drives the deployed function.

    from predictor.testing import PredictorClient
    import app

    client = PredictorClient(app.handler)
    response = client.predict(client.examples)
    assert response.status_code == 200

`predictor.testing.events` builds Lambda events in the shapes AWS sends.
"""

from predictor.testing import events
from predictor.testing._client import (
    HttpResponse,
    PredictorClient,
    S3FileResult,
    SqsResult,
    schema_examples,
)
from predictor.testing._context import LambdaContext

__all__ = [
    "HttpResponse",
    "LambdaContext",
    "PredictorClient",
    "S3FileResult",
    "SqsResult",
    "events",
    "schema_examples",
]
