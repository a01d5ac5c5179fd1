# syntax=docker/dockerfile:1
#
# Bouncer container image.
#   docker build -t bouncer:0.1.0 --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) --build-arg SOURCE_URL=<your repository URL> .
#
# Stage "build" installs every dependency (AssemblyScript and TypeScript are dev
# dependencies), compiles the policy compiler's Wasm runtime (build/runtime.wasm), the
# masker's JSON scanner (build/json-scan.wasm) and the bouncer itself (tsc -> dist/, with
# source maps). Stage "deps" installs production
# dependencies only. Stage "runtime" is the base image without npm, npx, corepack or yarn,
# plus node_modules from "deps" and the build outputs: no TypeScript, tsx or esbuild at run
# time. The runtime works with a read-only root filesystem: everything it writes goes to
# /var/lib/bouncer (spool, last good bundle), a declared volume (the Helm chart mounts
# emptyDirs there and at /tmp).
#
# The base image is Node.js 24 LTS (supported until 2028-04-30, scripts/node-eol.json),
# pinned by digest (node:24-bookworm-slim, 24.18.0 when pinned). To move to a newer build:
#   docker buildx imagetools inspect node:24-bookworm-slim   # prints the index digest
# and replace the digest below (or pass --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:...).

ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall hook builds, which needs the sources copied below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

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
# VERSION, REVISION and CREATED reach the process through build/build-info.json (the
# bouncer_build_info metric, `bouncer version`): the build context has no .git to read.
ENV NODE_ENV=production
# V8 sizes its young generation from the container's memory limit: in the chart's 384Mi it
# picks 1 MB semi-spaces and the bouncer spends its time in scavenges. bouncer-logs soaks in a
# 384 MB cgroup, the flag given to the bouncer alone (`npm run bench -- --soak 180
# --soak-memory-limit 384 [--bouncer-node-flags=--max-semi-space-size=16]`, A/B/A/B): 3,716 and
# 4,606 req/s with V8's choice, 5,803 and 5,821 req/s with 16 MB semi-spaces (p99 28/24 -> 18/17
# ms; RSS ~158 -> ~182 MB). A maximum only caps growth under load: an idle bouncer keeps its
# small young generation (src/app/memory.ts). Override NODE_OPTIONS in the pod's env to change it.
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
# The package managers are not needed at run time: remove them (and what they could install).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /var/lib/bouncer/spool /var/lib/bouncer/bundles \
 && chown -R 10001:10001 /var/lib/bouncer \
 && mkdir -p /app/build \
 && printf '{"version":"%s","commit":"%s","built_at":"%s"}\n' "${VERSION}" "${REVISION}" "${CREATED}" > /app/build/build-info.json
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/runtime.wasm /src/build/runtime.json /src/build/json-scan.wasm ./build/
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
