"""The package's AWS clients come from one owner: one retry policy per service, and one list
of what `renew()` (SnapStart's after-restore) drops."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from predictor import _aws_clients


@pytest.fixture(autouse=True)
def _fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _aws_clients.renew()
    yield
    _aws_clients.renew()


def test_each_service_retries_with_its_one_policy() -> None:
    for service, policy in _aws_clients.POLICIES.items():
        config = _aws_clients.client(service).meta.config

        assert config.retries == {"mode": "standard", "total_max_attempts": policy.attempts}
        assert config.max_pool_connections == policy.max_connections


def test_the_artifact_fetch_client_leaves_retries_to_the_fetch_and_takes_its_timeout() -> None:
    config = _aws_clients.fetch_s3_client(3.0, 8, {"AWS_REGION": "eu-west-1"}).meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert (config.connect_timeout, config.read_timeout, config.max_pool_connections) == (3.0, 3.0, 10)


def test_a_client_is_made_once_until_renewed() -> None:
    first = _aws_clients.client("s3")

    assert _aws_clients.client("s3") is first
    _aws_clients.renew()
    assert _aws_clients.client("s3") is not first


def test_renew_runs_what_registered_with_it_once_each() -> None:
    calls: list[str] = []

    def forget() -> None:
        calls.append("forgotten")

    _aws_clients.on_renew(forget)
    _aws_clients.on_renew(forget)
    try:
        _aws_clients.renew()
    finally:
        _aws_clients._renewers.remove(forget)

    assert calls == ["forgotten"]


def test_what_must_precede_the_first_client_runs_once_before_it_or_at_once_after() -> None:
    calls: list[str] = []
    _aws_clients.before_first_client(lambda: calls.append(f"before, {_aws_clients.made()} made"))

    _aws_clients.client("s3")
    _aws_clients.client("sqs")
    _aws_clients.before_first_client(lambda: calls.append(f"late, {_aws_clients.made()} made"))

    assert calls == ["before, 0 made", "late, 2 made"]
