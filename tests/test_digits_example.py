"""functions/digits served as a process: JSON, npy rows and PNG images reach the same model."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from support.paths import REPO
from support.server_process import ServerProcess

DIGITS = REPO / "functions" / "digits"


@pytest.fixture(scope="module")
def digits() -> Iterator[httpx.Client]:
    with (
        ServerProcess(DIGITS) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return data.data[:20], data.target[:20]


def answered(response: httpx.Response) -> list[int]:
    assert response.status_code == 200, response.text
    return [prediction["digit"] for prediction in response.json()["predictions"]]


def test_json_instances_are_classified(digits: httpx.Client, samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, targets = samples
    body = {"instances": [{"pixels": image.tolist()} for image in images]}
    assert answered(digits.post("/invocations", json=body)) == targets.tolist()


def test_npy_rows_are_whole_images(digits: httpx.Client, samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, targets = samples
    buffer = io.BytesIO()
    np.save(buffer, images.astype(np.float32))
    response = digits.post(
        "/invocations", content=buffer.getvalue(), headers={"content-type": "application/x-npy"}
    )
    assert answered(response) == targets.tolist()


def test_a_png_image_is_one_instance(digits: httpx.Client, samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, targets = samples
    # Dark ink on white, eight times larger than the model's 8x8, as a scanner would give it.
    ink = (255 - images[3].reshape(8, 8) * (255 / 16)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(ink).resize((64, 64), Image.Resampling.NEAREST).save(buffer, format="PNG")
    for path in ("/invocations", "/predict"):
        response = digits.post(path, content=buffer.getvalue(), headers={"content-type": "image/png"})
        assert answered(response) == [int(targets[3])]


def test_a_body_that_is_not_a_png_is_400(digits: httpx.Client) -> None:
    response = digits.post("/invocations", content=b"GIF89a....", headers={"content-type": "image/png"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not a readable PNG image")


def test_a_huge_png_is_refused_before_decoding(digits: httpx.Client) -> None:
    buffer = io.BytesIO()
    Image.new("1", (5000, 5000)).save(buffer, format="PNG")  # a few kB that would decode to 25 M pixels
    response = digits.post("/invocations", content=buffer.getvalue(), headers={"content-type": "image/png"})
    assert response.status_code == 413
    assert response.json()["detail"] == "The image is 5000x5000; send one of at most 4096x4096 pixels"


def test_pixels_out_of_range_are_located(digits: httpx.Client) -> None:
    pixels = [0.0] * 64
    pixels[10] = 17
    response = digits.post("/invocations", json={"instances": [{"pixels": pixels}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["instances", 0, "pixels", 10]


def test_scalar_outputs_answer_as_csv(digits: httpx.Client, samples: tuple[np.ndarray, np.ndarray]) -> None:
    images, targets = samples
    body = {"instances": [{"pixels": images[0].tolist()}]}
    response = digits.post("/invocations", json=body, headers={"accept": "text/csv"})
    digit, confidence = response.text.strip().split(",")
    assert int(digit) == targets[0]
    assert 0 < float(confidence) <= 1
