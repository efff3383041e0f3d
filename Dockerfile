# Builds the syncengine executable and ships it with its migrations.
# The toolchain measured here (6.3); swift-prometheus needs at least 6.2.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis-dev pkg-config libssl-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product syncengine --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis0.14 ca-certificates tzdata libcurl4 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/.build/release/syncengine /app/syncengine
COPY Migrations /app/Migrations
ENV SYNC_MIGRATIONS_DIR=/app/Migrations
ENTRYPOINT ["/app/syncengine"]
