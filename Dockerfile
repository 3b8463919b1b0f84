# syntax=docker/dockerfile:1
# hookline's production image.
#
#   docker build -t hookline:0.1.0 .
#   docker run --rm hookline:0.1.0 config check        # ENTRYPOINT is `hookline`
#
# Two stages: the builder turns the source tree into wheels (hookline's and
# every dependency's); the runtime stage installs those wheels into a clean
# python:3.11-slim, without a compiler, the source tree or pip's caches, and
# runs as an unprivileged user whose uid matches the Helm chart's runAsUser.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /build
# Only what the wheel is made of (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 hookline \
 && useradd --system --uid 10001 --gid hookline --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin hookline
# The wheels are bind-mounted, not copied, so they never become an image layer;
# pip, setuptools and wheel leave afterwards: nothing in the image can build or
# install packages.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links /wheels hookline \
 && python -m pip uninstall --yes pip setuptools wheel
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["hookline"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
