# SageMaker real-time endpoint image, CPU. Build from the repository root:
#   docker build -f container/sagemaker-cpu.Dockerfile --build-arg FUNCTION=functions/iris -t predictor-iris .
# SageMaker runs it as `docker run IMAGE serve`; locally: docker run -p 8080:8080 predictor-iris serve
# As a training image, SageMaker runs `docker run IMAGE train` (docs/training.md); as a multi-model
# endpoint it sets SAGEMAKER_MULTI_MODEL=true, which this image's label allows (docs/multi-model.md).
FROM python:3.12-slim

ARG FUNCTION=functions/iris
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true \
      com.amazonaws.sagemaker.capabilities.multi-models=true

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREDICTOR_FUNCTION=/opt/program \
    PREDICTOR_HOST=0.0.0.0 \
    PREDICTOR_PORT=8080

# Exactly the versions the test suite ran on (requirements/image.txt comes from the same lock),
# then the package itself with nothing more.
COPY requirements/image.txt /tmp/predictor/requirements.txt
COPY pyproject.toml README.md /tmp/predictor/
COPY predictor /tmp/predictor/predictor
RUN pip install --require-hashes --no-deps -r /tmp/predictor/requirements.txt \
    && pip install --no-deps /tmp/predictor && rm -rf /tmp/predictor

# The function: app.py, its embedded model (used when /opt/ml/model is empty and MODEL_URI unset)
# and, when present, its own requirements.txt and what its train needs (requirements-train.txt).
COPY ${FUNCTION} /opt/program
RUN if [ -f /opt/program/requirements.txt ]; then pip install -r /opt/program/requirements.txt; fi \
    && if [ -f /opt/program/requirements-train.txt ]; then pip install -r /opt/program/requirements-train.txt; fi \
    && useradd --system --no-create-home --shell /usr/sbin/nologin predictor

USER predictor
WORKDIR /opt/program
EXPOSE 8080
ENTRYPOINT ["predictor"]
CMD ["serve"]
