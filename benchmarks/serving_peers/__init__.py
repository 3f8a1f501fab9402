"""Servers the container benchmark runs beside `predictor serve`: each a separate process."""
