# syntax=docker/dockerfile:1
#
# Bouncer container image.
#   docker build -t bouncer:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE_URL=<your repository URL> .
#
# Stage "build" installs every dependency (AssemblyScript is a dev dependency) and compiles
# the policy compiler's Wasm runtime (build/runtime.wasm). Stage "runtime" installs
# production dependencies only (tsx among them: the sources run through it) and copies the
# sources plus that one build output. The runtime works with a read-only root filesystem:
# everything it writes goes to /var/lib/bouncer (spool, last good bundle) and /tmp, which
# are declared volumes (the Helm chart mounts emptyDirs there).
#
# The base image is pinned by major version. To pin by digest, pass
#   --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:<digest>

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall hook builds the runtime, which needs the sources copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build:runtime

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE_URL=unknown
LABEL org.opencontainers.image.title="bouncer" \
      org.opencontainers.image.description="Policy enforcement sidecar: reverse proxy that evaluates compiled Rego (Wasm) on every request" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"

# No BOUNCER_* variables here: the bouncer reads every BOUNCER_* variable as a setting.
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && mkdir -p /var/lib/bouncer/spool /var/lib/bouncer/bundles \
 && chown -R 10001:10001 /var/lib/bouncer
COPY --from=build /src/tsconfig.json ./tsconfig.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/src ./src
COPY --from=build /src/build/runtime.wasm /src/build/runtime.json ./build/
COPY --from=build /src/docker/entrypoint.sh ./docker/entrypoint.sh

# Numeric, so Kubernetes can verify runAsNonRoot without looking the name up.
USER 10001:10001
VOLUME ["/var/lib/bouncer", "/tmp"]
# 8080: proxy (the workload's traffic) · 9090: admin (/healthz, /readyz, /metrics)
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/app/docker/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["run"]
