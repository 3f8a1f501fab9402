# SageMaker real-time endpoint image, NVIDIA GPU (CUDA 12 + cuDNN 9, onnxruntime-gpu).
# Build from the repository root:
#   docker build -f container/sagemaker-gpu.Dockerfile --build-arg FUNCTION=functions/digits -t predictor-digits-gpu .
# predictor.onnx_session.open_session picks the CUDA provider when a GPU is visible, else the CPU.
# `docker run IMAGE train` trains (docs/training.md); multi-model endpoints are CPU-only for images
# of one's own, so this image carries no multi-models label.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ARG FUNCTION=functions/digits
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    PREDICTOR_FUNCTION=/opt/program \
    PREDICTOR_HOST=0.0.0.0 \
    PREDICTOR_PORT=8080

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

# requirements/image-gpu.txt is the CPU image's lock with onnxruntime-gpu, at the same version,
# in onnxruntime's place: both install the `onnxruntime` module, so the CPU wheel must not come too.
COPY requirements/image-gpu.txt /tmp/predictor/requirements.txt
COPY pyproject.toml README.md /tmp/predictor/
COPY predictor /tmp/predictor/predictor
RUN pip install --require-hashes --no-deps -r /tmp/predictor/requirements.txt \
    && pip install --no-deps /tmp/predictor && rm -rf /tmp/predictor

COPY ${FUNCTION} /opt/program
RUN if [ -f /opt/program/requirements.txt ]; then \
        grep -viE '^onnxruntime([<>=~! ;]|$)' /opt/program/requirements.txt > /tmp/requirements.txt; \
        pip install -r /tmp/requirements.txt; \
    fi \
    && if [ -f /opt/program/requirements-train.txt ]; then pip install -r /opt/program/requirements-train.txt; fi \
    && useradd --system --no-create-home --shell /usr/sbin/nologin predictor

USER predictor
WORKDIR /opt/program
EXPOSE 8080
ENTRYPOINT ["predictor"]
CMD ["serve"]
