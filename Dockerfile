# Builds both binaries of sikka-connect: the demo host app (default) and the
# mock Sikka. Multi-stage: the final image holds only the two static binaries
# and runs as a non-root user. docker-compose.yml runs them from
# /usr/local/bin, and checks their health with `<binary> -healthcheck`.
# The Go image is pinned to an exact release (e2e/compose_test.go checks it);
# distroless publishes no version tags, only its rolling ones.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sikka-demo ./cmd/sikka-demo \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mocksikka ./cmd/mocksikka

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sikka-demo /out/mocksikka /usr/local/bin/
USER nonroot:nonroot
EXPOSE 8080 8089
ENTRYPOINT ["/usr/local/bin/sikka-demo"]
