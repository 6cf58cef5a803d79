# ocppemu: the workbench daemon, the dashboards and the Ray shard image (see docs/DEPLOY.md).
# Build: docker build -t ocppemu:0.1.0 .        (EXTRAS=ui,ray by default; --build-arg EXTRAS=ray for workers)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ocppemu \
    && mkdir -p /data && chown ocppemu:ocppemu /data

WORKDIR /opt/ocppemu
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY ocppemu ./ocppemu
COPY dashboards ./dashboards
COPY config.example.yaml ./

ARG EXTRAS=ui,ray
RUN pip install ".[${EXTRAS}]"

USER ocppemu
VOLUME ["/data"]
# 8080: REST + WebSocket API; 8866: dashboards (ocppemu ui)
EXPOSE 8080 8866
ENTRYPOINT ["ocppemu"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
