"""`predictor train` as SageMaker runs a training image: the /opt/ml layout (here a temporary root the
SM_* variables point at), string hyperparameters decoded, the model written where setup reads it,
and every failure left in output/failure with a non-zero exit."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from support.paths import FIXTURES, REPO
from support.s3_server import MotoServer, clean_environ
from support.server_process import ServerProcess
from support.training import OptMl, model_tar_gz, run_train, train_command

FACTOR = FIXTURES / "trains_a_factor.py"
STOPPABLE = FIXTURES / "trains_until_stopped.py"
NUMBERS = {"train": {"a.txt": "1 2\n", "b.txt": "3\n"}}  # mean 2


@pytest.fixture
def opt_ml(tmp_path: Path) -> OptMl:
    return OptMl(tmp_path / "opt" / "ml")


def test_train_reads_its_channels_and_decodes_string_hyperparameters(opt_ml: OptMl) -> None:
    hyperparameters = {"scale": "2", "tag": "2.50", "layers": "[3, 4]", "sagemaker_program": "train.py"}
    opt_ml.write_config(hyperparameters, NUMBERS)

    finished = run_train(FACTOR, opt_ml.environ())

    assert finished.returncode == 0, finished.stderr
    assert json.loads((opt_ml.model / "factor.json").read_text()) == 4.0
    given = json.loads((opt_ml.model / "given.json").read_text())
    # "2.50" stays a string: the field is declared `str`; the SDK's sagemaker_ keys are not the model's.
    assert given == {
        "channels": {"train": str(opt_ml.root / "input" / "data" / "train")},
        "scale": 2.0,
        "tag": "2.50",
        "layers": [3, 4],
    }
    assert not opt_ml.failure.exists()


def test_without_a_hyperparameters_model_train_gets_each_value_decoded_or_as_sent(opt_ml: OptMl) -> None:
    sent = {"epochs": "3", "rate": "0.5", "optimizer": "adam", "flags": "[true, null]", "name": '"q"'}
    opt_ml.write_config(sent, {})

    finished = run_train(FIXTURES / "trains_any_hyperparameters.py", opt_ml.environ())

    assert finished.returncode == 0, finished.stderr
    given = json.loads((opt_ml.model / "given.json").read_text())
    assert given == {"epochs": 3, "rate": 0.5, "optimizer": "adam", "flags": [True, None], "name": "q"}


def test_sm_hps_and_sm_channel_variables_win_over_the_layout(opt_ml: OptMl, tmp_path: Path) -> None:
    opt_ml.write_config({"scale": "2"}, NUMBERS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "n.txt").write_text("10 20")

    finished = run_train(FACTOR, opt_ml.environ(SM_HPS='{"scale": 3}', SM_CHANNEL_TRAIN=str(elsewhere)))

    assert finished.returncode == 0, finished.stderr
    assert json.loads((opt_ml.model / "factor.json").read_text()) == 45.0


def test_the_command_line_names_the_model_directory_channels_and_hyperparameters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "n.txt").write_text("4")
    model = tmp_path / "model"

    finished = run_train(
        FACTOR,
        clean_environ(),
        "--model-dir", str(model),
        "--output-dir", str(tmp_path / "output"),
        "--channel", f"train={data}",
        "--hyperparameter", "scale=0.5",
        "--hyperparameter", "tag=007",
    )  # fmt: skip

    assert finished.returncode == 0, finished.stderr
    assert json.loads((model / "factor.json").read_text()) == 2.0
    assert json.loads((model / "given.json").read_text())["tag"] == "007"


def test_an_invalid_hyperparameter_fails_the_job_naming_the_field(opt_ml: OptMl) -> None:
    opt_ml.write_config({"scale": "abc", "layers": "[1, -x]"}, NUMBERS)

    finished = run_train(FACTOR, opt_ml.environ())

    assert finished.returncode == 1
    reason = opt_ml.failure.read_text()
    assert reason.startswith("invalid hyperparameters: scale: Input should be a valid number")
    assert "(got 'abc')" in reason[:1024]
    assert "layers: Input should be a valid list (got '[1, -x]')" in reason[:1024]
    assert reason.splitlines()[0] in finished.stderr
    assert not (opt_ml.model / "factor.json").exists()


def test_a_raising_train_leaves_its_reason_first_in_the_failure_file(opt_ml: OptMl) -> None:
    opt_ml.write_config({}, NUMBERS)

    finished = run_train(FIXTURES / "exc_in_train.py", opt_ml.environ())

    assert finished.returncode == 1
    reason = opt_ml.failure.read_text()
    first, _, rest = reason.partition("\n\n")
    assert first == "train raised ValueError: the train channel has no rows"
    assert rest.startswith("Traceback (most recent call last):")
    assert first in finished.stderr


def test_a_predictor_without_train_fails_the_job_saying_what_to_define(opt_ml: OptMl) -> None:
    finished = run_train(FIXTURES / "echo.py", opt_ml.environ())

    assert finished.returncode == 1
    assert opt_ml.failure.read_text().startswith(
        "Echo cannot train: define `@classmethod def train(cls, channels, hyperparameters, model_dir)`"
    )


def test_train_without_a_function_says_how_to_name_one(opt_ml: OptMl) -> None:
    finished = subprocess.run(
        train_command(""), cwd=REPO, env=opt_ml.environ(), capture_output=True, text=True, check=False
    )

    assert finished.returncode == 2
    assert finished.stderr == (
        "predictor: name the function to train (predictor train functions/NAME) or set PREDICTOR_FUNCTION\n"
    )


def test_a_channel_in_pipe_mode_fails_the_job_saying_which_modes_work(opt_ml: OptMl) -> None:
    opt_ml.write_config({}, NUMBERS)
    config = opt_ml.root / "input" / "config" / "inputdataconfig.json"
    config.write_text(json.dumps({"train": {"TrainingInputMode": "Pipe"}}))

    finished = run_train(FACTOR, opt_ml.environ())

    assert finished.returncode == 1
    assert opt_ml.failure.read_text() == (
        "channel train is in Pipe mode; train reads directories: use File or FastFile mode"
    )


def test_unreadable_sm_hps_fails_the_job_saying_so(opt_ml: OptMl) -> None:
    opt_ml.write_config({}, NUMBERS)

    finished = run_train(FACTOR, opt_ml.environ(SM_HPS="[1, 2]"))

    assert finished.returncode == 1
    assert opt_ml.failure.read_text() == "SM_HPS holds a list; it must hold a JSON object"


def start_stoppable(opt_ml: OptMl, reraise: str) -> subprocess.Popen[str]:
    opt_ml.write_config({"reraise": reraise}, {})
    process = subprocess.Popen(
        train_command(STOPPABLE), cwd=REPO, env=opt_ml.environ(), stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (opt_ml.model / "progress").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr
        time.sleep(0.05)
    return process


@pytest.mark.parametrize("reraise", ["false", "true"])
def test_sigterm_mid_training_lets_train_save_what_it_has(opt_ml: OptMl, reraise: str) -> None:
    process = start_stoppable(opt_ml, reraise)

    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)

    saved = json.loads((opt_ml.model / "model.json").read_text())
    assert saved["stopped"] is True and saved["epochs"] >= 1
    if reraise == "false":  # train saved and returned: the job trained what it had
        assert code == 0
        assert not opt_ml.failure.exists()
    else:
        assert code == 128 + signal.SIGTERM
        assert opt_ml.failure.read_text() == "training stopped (SIGTERM) before train returned"


def test_what_train_writes_serves_from_model_tar_gz_on_s3(
    opt_ml: OptMl, s3_server: MotoServer, bucket: str, tmp_path: Path
) -> None:
    opt_ml.write_config({"scale": "1.5"}, NUMBERS)
    assert run_train(FACTOR, opt_ml.environ()).returncode == 0
    s3_server.s3().put_object(Bucket=bucket, Key="job/output/model.tar.gz", Body=model_tar_gz(opt_ml.model))
    env = clean_environ(
        **s3_server.env,
        MODEL_URI=f"s3://{bucket}/job/output/model.tar.gz",
        PREDICTOR_CACHE_DIR=str(tmp_path / "cache"),
    )

    with ServerProcess(FACTOR, env) as server:
        answer = httpx.post(f"{server.url}/invocations", json={"instances": [{"x": 2, "name": "a"}]})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [{"name": "a", "doubled": 6.0}]}
