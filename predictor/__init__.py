"""serverless-predictor: one predictor class served on Lambda, events, SageMaker and locally."""

# First, before pydantic loads: on Lambda with MODEL_URI=s3://..., the download starts
# now and overlaps the imports of this package and of the app. Off Lambda (the CLI, a
# script, the tests) importing the package fetches nothing.
from predictor.artifacts import start_prefetch

start_prefetch()

from predictor._version import __version__ as __version__  # noqa: E402
from predictor.aws_lambda import lambda_handler  # noqa: E402
from predictor.context import RequestContext  # noqa: E402
from predictor.contract import ContractError, Predictor, PredictorError  # noqa: E402
from predictor.limits import Limits  # noqa: E402

__all__ = ["ContractError", "Limits", "Predictor", "PredictorError", "RequestContext", "lambda_handler"]
