"""Rebuild model/ from training data: `python train.py`.

A multinomial logistic regression fitted with numpy alone, on a small synthetic data set made
here with a fixed seed, so the project works offline from its first minute. Replace `load_data`
with your own data (and the model with your own: anything `setup` in app.py can load).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "model"
LABELS = ["small", "medium", "large"]
# The centre (length, width) of each class in the synthetic data.
CENTRES = [(1.5, 0.4), (4.3, 1.3), (6.0, 2.1)]


def load_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(centre, (0.4, 0.2), size=(100, 2)) for centre in CENTRES])
    y = np.repeat(np.arange(len(LABELS)), 100)
    return np.clip(x, 0, None), y


def fit(x: np.ndarray, y: np.ndarray, steps: int = 500, rate: float = 0.5) -> dict[str, list[Any]]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / scale
    onehot = np.eye(len(LABELS))[y]
    weights, bias = np.zeros((x.shape[1], len(LABELS))), np.zeros(len(LABELS))
    for _ in range(steps):
        scores = z @ weights + bias
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        weights -= rate * z.T @ (p - onehot) / len(z)
        bias -= rate * (p - onehot).mean(axis=0)
    return {
        "labels": LABELS,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": weights.tolist(),
        "bias": bias.tolist(),
    }


def main() -> None:
    x, y = load_data()
    model = fit(x, y)
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    accuracy = float(((z @ np.array(model["weights"]) + model["bias"]).argmax(axis=1) == y).mean())
    MODEL_DIR.mkdir(exist_ok=True)
    (MODEL_DIR / "model.json").write_text(json.dumps(model, indent=2) + "\n")
    print(f"training accuracy {accuracy:.3f}; wrote {MODEL_DIR / 'model.json'}")


if __name__ == "__main__":
    main()
