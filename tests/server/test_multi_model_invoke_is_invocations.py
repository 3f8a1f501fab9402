"""POST /models/{name}/invoke answers exactly as /invocations of a one-model server set up from
the same artifacts: status, content type and body, for every body type, Accept and refusal."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from support.multi_model import FROM_ARTIFACTS, model_dir, multi_model_server
from support.s3_server import clean_environ
from support.server_process import ServerProcess

JSON = "application/json"


def npy(rows: list[list[float]]) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array(rows, dtype=np.float32))
    return buffer.getvalue()


# (content type, accept, body)
REQUESTS = [
    (JSON, None, b'{"instances": [{"x": 1, "name": "a"}, {"x": 2.5, "name": "b"}]}'),
    (JSON, "text/csv", b'{"instances": [{"x": 1, "name": "a"}]}'),
    (JSON, "application/jsonlines", b'{"instances": [{"x": 1, "name": "a"}]}'),
    ("text/csv", "text/csv", b"x,name\n1,a\n2,b\n"),
    ("application/jsonlines", None, b'{"x": 1, "name": "a"}\n{"x": 3, "name": "c"}\n'),
    ("application/x-npy", None, npy([[1.0], [2.0]])),
    (JSON, None, b'{"instances": [{"x": -1, "name": "a"}, {"name": 3}]}'),
    (JSON, None, b'{"instances": []}'),
    (JSON, None, b"{not json"),
    (JSON, "image/png", b'{"instances": [{"x": 1, "name": "a"}]}'),
    ("image/gif", None, b"GIF89a"),
    ("text/csv", None, b"x,name\n1\n"),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    root = tmp_path_factory.mktemp("models")
    url = model_dir(root, "m", factor=2)
    single = ServerProcess(FROM_ARTIFACTS, clean_environ(MODEL_URI=url))
    with (
        single,
        multi_model_server(root) as mme,
        httpx.Client(base_url=single.url, trust_env=False, timeout=30) as one,
    ):
        assert mme.load("m", url).status_code == 200
        yield one, mme.client


@pytest.mark.parametrize(("content_type", "accept", "body"), REQUESTS)
def test_invoke_answers_what_invocations_answers(
    both: tuple[httpx.Client, httpx.Client],
    content_type: str,
    accept: str | None,
    body: bytes,
) -> None:
    one, mme = both
    headers = {"content-type": content_type, **({"accept": accept} if accept else {})}

    expected = one.post("/invocations", content=body, headers=headers)
    answered = mme.post("/models/m/invoke", content=body, headers=headers)

    assert (answered.status_code, answered.headers["content-type"], answered.content) == (
        expected.status_code,
        expected.headers["content-type"],
        expected.content,
    )
