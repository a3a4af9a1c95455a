# syntax=docker/dockerfile:1
#
# PIP service image. Build: docker build -t pip-service .
# Run (embedded database in the /data volume):
#   docker run -p 8000:8000 -v pip-data:/data pip-service
# The first start prints a platform admin API key once (docker logs <container>).
# See docker-compose.yml for the PostgreSQL + Redis setup.

ARG NODE_VERSION=20

# ---- deps: production dependencies from the lock file ----
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# tsx (runs the TypeScript sources) is a production dependency; dev tools are not installed
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- runtime: slim image, non-root user ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data
WORKDIR /app

COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY migrations ./migrations
COPY connectors ./connectors
COPY src ./src

# the embedded database (DATA_DIR/pgdata) and the encryption key file live in /data:
# owned by the unprivileged `node` user (uid 1000) that ships with the official image
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
VOLUME ["/data"]
USER node

EXPOSE 8000
# no curl in the slim image: Node's fetch probes /healthz (200 when ok or degraded, 503 when down)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# SIGTERM drains in-flight requests (up to 25 s) and exits 0: give `docker stop -t 30`
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/main.ts"]
