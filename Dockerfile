FROM python:3.11-slim AS wheel
# Build stage: the wheel, from exactly the files the package is made of.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY consumer ./consumer
COPY sql ./sql
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheel .

# The image installs that wheel and nothing of the source tree: what runs here is what
# tests/test_wheel.py installs and runs.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 learnstream && mkdir /data && chown learnstream /data
COPY --from=wheel /wheel /wheel
RUN pip install --no-cache-dir /wheel/learnstream-*.whl && rm -rf /wheel
USER learnstream
WORKDIR /home/learnstream
ENV LEARNSTREAM_DATA_DIR=/data
VOLUME ["/data"]
# 8080: the receiver (webhooks and its /metrics); 9101: the consumer's /metrics
EXPOSE 8080 9101
ENTRYPOINT ["learnstream"]
CMD ["--help"]
