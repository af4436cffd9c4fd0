# One image for every meshtrace role (all-in-one, proxy, demo services).
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
EXPOSE 4318 16686
ENTRYPOINT ["node", "bin/meshtrace.js"]
CMD ["all-in-one"]
