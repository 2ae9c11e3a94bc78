#!/usr/bin/env bash
# Makes a development CA and a server certificate for localhost and 127.0.0.1, for tests only:
#   DIR/dev-ca.crt  DIR/dev-ca.key  DIR/dev-server.crt  DIR/dev-server.key
# Usage: scripts/make-dev-certs.sh [DIR]   (DIR defaults to certs). `make certs` calls it when the
# certificates are missing, invalid or expire within 30 days. Never use these in production.
set -euo pipefail

dir=${1:-certs}
days=825 # the longest validity TLS clients accept for a server certificate
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs openssl quietly; shows what it said only when it fails.
quietly() {
    "$@" 2>"$work/stderr" || { cat "$work/stderr" >&2; echo "certs: failed: $*" >&2; exit 1; }
}

# The CA: an EC P-256 key and a self-signed certificate that may only sign certificates.
quietly openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$work/dev-ca.key" -out "$work/dev-ca.crt" -days "$days" -sha256 \
    -subj "/O=WindowRelay development/CN=WindowRelay development CA (do not trust)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"

# The server: a key, a request, and a certificate the CA signs for localhost and 127.0.0.1.
quietly openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$work/dev-server.key" -out "$work/dev-server.csr" \
    -subj "/O=WindowRelay development/CN=localhost"
cat >"$work/server.ext" <<'EXT'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EXT
quietly openssl x509 -req -in "$work/dev-server.csr" -CA "$work/dev-ca.crt" -CAkey "$work/dev-ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
    -extfile "$work/server.ext" -out "$work/dev-server.crt"

quietly openssl verify -CAfile "$work/dev-ca.crt" "$work/dev-server.crt" >/dev/null
chmod 600 "$work"/*.key
chmod 644 "$work"/*.crt
mv "$work"/dev-ca.crt "$work"/dev-ca.key "$work"/dev-server.crt "$work"/dev-server.key "$dir"/
echo "certs: made $dir/dev-ca.crt, $dir/dev-server.crt (localhost, 127.0.0.1; $days days) and their keys"
