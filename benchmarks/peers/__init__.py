"""Peer implementations of the iris `POST /predict` handler, measured against `predictor`.

Each module's `build(model_dir)` returns a Lambda handler `(event, context) -> response`,
written the way its framework's documentation and tutorials write it.
"""
