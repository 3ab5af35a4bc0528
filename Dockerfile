# The registry image: a drop-in for registry:2 (same REGISTRY_* variables, same /var/lib/registry
# layout, port 5000). The default command runs both processes in one container, storage on the
# container's loopback; docker-compose.yaml runs them as two services instead.
# The final stage is Debian with only node and the compiled registry: no npm, no corepack, no
# compiler, no tests. Processes run as the user `registry` (docker-entrypoint.sh drops root).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY common ./common
COPY storage ./storage
COPY gateway ./gateway
COPY cli ./cli
RUN npx tsc -p tsconfig.image.json && npm prune --omit=dev --no-audit --no-fund

FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 10001 registry \
    && useradd --uid 10001 --gid registry --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin registry \
    && mkdir -p /var/lib/registry /run/registry /auth \
    && chown registry:registry /var/lib/registry /run/registry /auth \
    && chmod 700 /run/registry
# /run/registry is private (700): compose's storage listens there on a unix socket without a
# token, which `registry storage` allows only in a directory nobody else can open. A named volume
# mounted there starts as a copy of it, owner and mode included.
WORKDIR /app
ENV NODE_ENV=production \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/common ./dist/common
COPY --from=build /app/dist/storage ./dist/storage
COPY --from=build /app/dist/gateway ./dist/gateway
COPY --from=build /app/dist/cli ./dist/cli
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN printf '#!/bin/sh\nexec node /app/dist/cli/main.js "$@"\n' > /usr/local/bin/registry \
    && chmod 755 /usr/local/bin/registry /usr/local/bin/docker-entrypoint.sh
VOLUME ["/var/lib/registry"]
EXPOSE 5000
# The image has no curl: node asks the gateway's health endpoint (cli/healthcheck.ts).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["node", "/app/dist/cli/healthcheck.js"]
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["start"]
