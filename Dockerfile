# syntax=docker/dockerfile:1
#
# entra-gateway — the gateway alone: compiled JavaScript, production dependencies only, unprivileged user.
#
#   docker build -t entra-gateway .
#   docker run --rm -p 8443:8443 \
#     -v "$PWD/deploy/kubernetes/overlays/example:/etc/entra-gateway:ro" \
#     -v entra-gateway-state:/var/lib/entra-gateway \
#     entra-gateway
#
# Configuration: /etc/entra-gateway/gateway.yaml (mount it, or a ConfigMap, read-only; the gateway hot-reloads
# it on change). Paths inside it — certificates, secrets `fromFile`, `auth.jwks.diskCacheDir` — are container
# paths, e.g. /etc/entra-gateway/tls/… and /var/lib/entra-gateway/jwks. The state directory
# /var/lib/entra-gateway holds a generated admin key (when the configuration names none) and the JWKS disk copy.
# Ports: 8443 main listener (HTTPS when listen.certFile/keyFile are set), 9464 metrics and 9444 admin API —
# both bound to 127.0.0.1 by default: set metrics.host / admin.host to 0.0.0.0 in the configuration to reach
# them from outside the container.
#
# `docker build --target stack -t entra-gateway-stack .` builds the simulated stack instead (emulator, MP
# simulator, gateway and client simulator; see compose.yaml) — for trying things out, never for production.

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: every dependency, TypeScript compiled to dist/ ------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gateway ./gateway
COPY entra-simulator ./entra-simulator
COPY mp-simulator ./mp-simulator
COPY client-simulator ./client-simulator
COPY stack ./stack
COPY lib ./lib
COPY bench ./bench
RUN npx tsc -p tsconfig.build.json

# --- deps: production dependencies only: exactly what gateway/ imports (package.json "dependencies"; the
# simulators' packages are devDependencies; test/operations/image-ships-only-gateway-imports.test.ts) -----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- stack: the whole simulated stack, for compose.yaml (not a production image) ----------------------------
# The simulators need devDependencies (jose, @peculiar/x509, …), so it takes the build stage's packages.
FROM ${NODE_IMAGE} AS stack
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
RUN mkdir -p /state && chown node:node /state
USER node
CMD ["node", "dist/stack/main.js", "--state-dir", "/state"]

# --- gateway: the production image (default target) -------------------------------------------------------
FROM ${NODE_IMAGE} AS gateway
ENV NODE_ENV=production \
    ENTRA_GATEWAY_CONFIG=/etc/entra-gateway/gateway.yaml \
    HEALTHCHECK_URL=https://127.0.0.1:8443/healthz
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/gateway ./dist/gateway
# From lib/ only the files gateway/ imports (the msal-node HTTP adapter of the services CLI); lib/pki.ts and the
# rest serve the simulators (test/operations/image-ships-only-gateway-imports.test.ts checks the list).
COPY --from=build /src/dist/lib/msal-network.js ./dist/lib/msal-network.js
COPY package.json ./
RUN mkdir -p /etc/entra-gateway /var/lib/entra-gateway && chown node:node /var/lib/entra-gateway
USER node
EXPOSE 8443
VOLUME ["/var/lib/entra-gateway"]
# Liveness on the main listener (docs/operations.md § Health). Over loopback the certificate's names may not include
# 127.0.0.1, so this probe does not verify it; it only asks "is the process answering /healthz with 200".
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const u=new URL(process.env.HEALTHCHECK_URL);require(u.protocol==='https:'?'node:https':'node:http').get(u,{rejectUnauthorized:false,timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/gateway/main.js"]
CMD ["serve", "--config", "/etc/entra-gateway/gateway.yaml", "--state-dir", "/var/lib/entra-gateway"]
