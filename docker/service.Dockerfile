# Image of one service; docker-compose.yml builds it three times with SERVICE=volunteers,
# activities, notifications. Build context: the repository root.
#
#   docker build -f docker/service.Dockerfile --build-arg SERVICE=activities -t guanyinli/activities .
#
# The process is `python -m guanyinli.serve $SERVICE`: Alembic migrations, then `nameko run`.
# Besides its own code an image carries what services/$SERVICE/image-sources lists of other services
# (the organiser: the activities' pure roster solver, for `guanyinli roster solve`).
# Everything it needs to know comes from the environment (see .env.example).

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

# --- dependencies: exactly the pins of requirements.lock, only those the service needs -------
FROM ${PYTHON_IMAGE} AS dependencies
ARG SERVICE
WORKDIR /build
COPY requirements.lock ./requirements.lock
COPY services/${SERVICE}/requirements.in ./requirements.in
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check 'pip==25.3' \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
        -c requirements.lock -r requirements.in
# code of other services the image carries (services/${SERVICE}/image-sources), staged for /app with
# their folders on the environment's path
COPY services/ sources/services/
COPY docker/image_sources.py sources/docker/image_sources.py
RUN /opt/venv/bin/python sources/docker/image_sources.py "${SERVICE}" sources /build/app

# --- runtime: no compiler, no pip cache, no root -------------------------------------------
FROM ${PYTHON_IMAGE}
ARG SERVICE
ENV SERVICE=${SERVICE} \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/common:/app/services/${SERVICE} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GUANYINLI_VAR_DIR=/tmp/guanyinli

RUN groupadd --system --gid 10001 guanyinli \
    && useradd --system --uid 10001 --gid guanyinli --no-create-home --home-dir /app --shell /usr/sbin/nologin guanyinli

COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY config/ config/
COPY common/guanyinli/ common/guanyinli/
COPY services/${SERVICE}/${SERVICE}/ services/${SERVICE}/${SERVICE}/
COPY --from=dependencies /build/app/ ./
COPY docker/healthcheck.py docker/healthcheck.py
RUN python -m compileall -q common services

USER 10001:10001
EXPOSE 8000
# Exec form keeps nameko as PID 1 so SIGTERM (docker stop) lets running workers finish.
# docker-compose.yml repeats this command explicitly; that is the one CI runs.
CMD ["sh", "-c", "exec python -m guanyinli.serve \"$SERVICE\""]
