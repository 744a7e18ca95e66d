# syntax=docker/dockerfile:1
# One image for every service: `chatroom <command>` picks the service
# (k8s/ passes the command as the container's args). Build: docker build -t chatroom .
# The steps are the Makefile's (`make build`); k8s/dockerfile_test.go checks
# that they stay the same.

# The web UI, built like `make web`.
FROM node:20-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# The static binary with the UI embedded, built like `make build`.
FROM golang:1.26.8 AS go
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
COPY services ./services
COPY web/embed.go ./web/embed.go
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -o /chatroom ./cmd/chatroom

# Nothing but the binary, CA certificates and time zones; user 65532 (nonroot).
FROM gcr.io/distroless/static-debian12:nonroot
# `chatroom all` keeps ./data here when run with plain `docker run`.
WORKDIR /home/nonroot
COPY --from=go /chatroom /chatroom
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/chatroom"]
CMD ["--help"]
