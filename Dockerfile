FROM python:3.11-slim
RUN useradd --create-home --uid 10001 learnstream && mkdir /data && chown learnstream /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ingest ./ingest
COPY consumer ./consumer
COPY sql ./sql
RUN pip install --no-cache-dir .
USER learnstream
ENV LEARNSTREAM_DATA_DIR=/data
VOLUME ["/data"]
# 8080: the receiver (webhooks and its /metrics); 9101: the consumer's /metrics
EXPOSE 8080 9101
ENTRYPOINT ["learnstream"]
CMD ["--help"]
