"""A real moto S3 server process on loopback, for tests that talk S3 over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from support.processes import HOST, free_port, stop

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_s3 import S3Client

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
REGION = "us-east-1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

# Settings a developer's shell may carry that would point boto3 somewhere else.
AWS_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
)


def aws_env(endpoint_url: str, credentials: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a process needs to reach this S3 endpoint and nothing else."""
    return {
        "AWS_ENDPOINT_URL_S3": endpoint_url,
        **(credentials or TEST_CREDENTIALS),
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def clean_environ(**overrides: str) -> dict[str, str]:
    """os.environ without any AWS, MODEL_ or PREDICTOR_ setting, plus the given ones: for subprocesses."""
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in AWS_SETTINGS and not name.startswith(("MODEL_", "PREDICTOR_"))
    }
    return {**base, **overrides}


def new_bucket_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class MotoServer:
    """`moto_server -H 127.0.0.1 -p PORT` as a process, logging to a file so a full pipe never stalls it."""

    def __init__(self) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="moto-server-", suffix=".log")  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = None
        self._s3: S3Client | None = None
        self.port = 0
        self.endpoint_url = ""

    @property
    def env(self) -> dict[str, str]:
        return aws_env(self.endpoint_url)

    def start(self) -> MotoServer:
        # A port found free can be taken before moto binds it; try a few.
        for _ in range(3):
            self.port = free_port()
            self.endpoint_url = f"http://{HOST}:{self.port}"
            self._process = subprocess.Popen(
                [str(MOTO_SERVER), "-H", HOST, "-p", str(self.port)],
                env=clean_environ(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            if self._wait_until_answering():
                return self
        raise RuntimeError(f"moto_server did not start within {START_TIMEOUT_S}s:\n{self.output()}")

    def _wait_until_answering(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1):
                    return True
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.stop()
        return False

    def output(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process, STOP_TIMEOUT_S)

    def close(self) -> None:
        self.stop()
        self._log.close()

    def client(self, service: str = "s3", credentials: dict[str, str] | None = None) -> Any:
        keys = credentials or TEST_CREDENTIALS
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        )

    def s3(self) -> S3Client:
        """The admin client (created once: a boto3 client costs ~0.2 s to build)."""
        if self._s3 is None:
            self._s3 = self.client("s3")
        return self._s3

    def create_bucket(self, *, versioned: bool = False, prefix: str = "t") -> str:
        name = new_bucket_name(prefix)
        s3 = self.s3()
        s3.create_bucket(Bucket=name)
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def enable_iam_authentication(self) -> None:
        """From now on every request is signature-checked and judged by the caller's IAM policies."""
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            # A form content type would make the server parse the body away.
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            json.loads(response.read())


DENIED_PREFIX = "denied/"
OPEN_PREFIX = "open/"


class LockedS3:
    """A second moto server that enforces IAM: its user may read `open/` but not `denied/` in `bucket`,
    and may not list `unlistable_bucket`. Real S3 answers those with 403 AccessDenied."""

    def __init__(self, server: MotoServer, bucket: str, unlistable_bucket: str, credentials: dict[str, str]):
        self.server = server
        self.bucket = bucket
        self.unlistable_bucket = unlistable_bucket
        self.credentials = credentials

    @property
    def env(self) -> dict[str, str]:
        return aws_env(self.server.endpoint_url, self.credentials)

    @classmethod
    def start(cls, objects: dict[str, bytes]) -> LockedS3:
        """`objects` are written under both prefixes of `bucket` and at the top of `unlistable_bucket`."""
        server = MotoServer().start()
        try:
            s3 = server.s3()
            bucket, unlistable = new_bucket_name("locked"), new_bucket_name("unlistable")
            for name in (bucket, unlistable):
                s3.create_bucket(Bucket=name)
            for key, body in objects.items():
                for prefix in (OPEN_PREFIX, DENIED_PREFIX):
                    s3.put_object(Bucket=bucket, Key=prefix + key, Body=body)
                s3.put_object(Bucket=unlistable, Key=key, Body=body)
            credentials = _reader_with_denials(server, bucket, unlistable)
            server.enable_iam_authentication()
        except BaseException:
            server.close()
            raise
        return cls(server, bucket, unlistable, credentials)

    def close(self) -> None:
        self.server.close()


def _reader_with_denials(server: MotoServer, bucket: str, unlistable: str) -> dict[str, str]:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{DENIED_PREFIX}*",
            },
            {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{unlistable}"},
        ],
    }
    iam = server.client("iam")
    iam.create_user(UserName="model-reader")
    iam.put_user_policy(UserName="model-reader", PolicyName="read-models", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="model-reader")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def put_objects(s3: S3Client, bucket: str, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def read_tree(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` by POSIX relative path; a symlinked file reads as its target."""
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def stored_bytes(directory: Path) -> int:
    """Bytes held by regular files under `directory`, each inode counted once (links share storage)."""
    sizes: dict[tuple[int, int], int] = {}
    if directory.exists():
        for path in directory.rglob("*"):
            stat = path.lstat()
            if path.is_file() and not path.is_symlink():
                sizes[(stat.st_dev, stat.st_ino)] = stat.st_size
    return sum(sizes.values())


def set_aws_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """os.environ holds exactly these AWS settings (until the test ends): none from the developer's shell."""
    for name in AWS_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@dataclass
class S3Env:
    """What an in-process test sees: the environment boto3 reads, and the endpoint it names."""

    endpoint_url: str
    env: dict[str, str]
    cache_dir: Path


@dataclass
class EventsAws:
    """The moto server as the event paths see it: S3 and SQS through AWS_ENDPOINT_URL."""

    server: MotoServer
    s3: Any
    sqs: Any
