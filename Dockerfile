# vardkedja API image: wheels are built in the first stage, the second installs them without
# any network and runs as an unprivileged user. Nothing is installed when a container starts.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY schema ./schema
COPY resolvers ./resolvers
COPY migrations ./migrations
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VARDKEDJA_HOST=0.0.0.0 \
    VARDKEDJA_PORT=8000 \
    VARDKEDJA_DATA_DIR=/srv/vardkedja/data \
    VARDKEDJA_LOG_FORMAT=json
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels vardkedja \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /srv/vardkedja --create-home vardkedja
USER 10001:10001
WORKDIR /srv/vardkedja
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
ENTRYPOINT ["vardkedja"]
CMD ["serve", "--no-demo"]
