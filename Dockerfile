# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first: this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git stays out of the build context, so the version comes in as an argument:
# docker build --build-arg VERSION=$(git describe --always --dirty) .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/mailproof ./cmd/mailproof

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mailproof /mailproof
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/mailproof"]
CMD ["serve"]
