# One image for every meshtrace role (all-in-one, proxy, demo services): the command is a meshtrace verb,
# e.g. `all-in-one`, `inject … -- node demo/services/reviews.mjs`, `demo loadgen --target …`.
FROM node:20-bookworm-slim
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY ui ./ui
RUN npm ci
COPY . .
ENV MESHTRACE_DATA_DIR=/data
VOLUME ["/data"]
# 4318 OTLP/HTTP, 16686 UI + query API (all-in-one); 9080 a demo service's sidecar inbound, 15000 its admin (/metrics).
EXPOSE 4318 16686 15010 9080 15000
ENTRYPOINT ["node", "bin/meshtrace.js"]
CMD ["all-in-one"]
