# SageMaker real-time endpoint image, NVIDIA GPU (CUDA 12 + cuDNN 9, onnxruntime-gpu).
# Build from the repository root:
#   docker build -f container/sagemaker-gpu.Dockerfile --build-arg FUNCTION=functions/digits -t predictor-digits-gpu .
# predictor.onnx_session.open_session picks the CUDA provider when a GPU is visible, else the CPU.
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

COPY pyproject.toml README.md /tmp/predictor/
COPY predictor /tmp/predictor/predictor
# onnxruntime-gpu instead of the [onnx] extra: both install the `onnxruntime` module.
RUN pip install "/tmp/predictor[serve,images]" "onnxruntime-gpu>=1.20" "numpy>=1.26" && rm -rf /tmp/predictor

COPY ${FUNCTION} /opt/program
RUN if [ -f /opt/program/requirements.txt ]; then \
        grep -viE '^onnxruntime([<>=~! ;]|$)' /opt/program/requirements.txt > /tmp/requirements.txt; \
        pip install -r /tmp/requirements.txt; \
    fi \
    && useradd --system --no-create-home --shell /usr/sbin/nologin predictor

USER predictor
WORKDIR /opt/program
EXPOSE 8080
ENTRYPOINT ["predictor"]
CMD ["serve"]
