"""The HTTP server transport: the FastAPI app that `predictor serve` runs on uvicorn."""
