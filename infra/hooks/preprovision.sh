#!/bin/sh
# azd preprovision hook: with replica regions (REPLICA_REGIONS), every region must sign tokens with one key. The
# first time, this creates it: an ES256 (P-256) private key, PKCS#8 PEM, base64-encoded on one line, kept in the azd
# environment as AUTH_SIGNING_KEY_PEM_BASE64 (main.parameters.json passes it to signingKeyPemBase64, which
# infra/app/signing-key.bicep stores in Key Vault). An existing value is never replaced: replacing it would refuse
# every token issued with the old key.
set -eu

if [ -z "${REPLICA_REGIONS:-}" ] || [ -n "${AUTH_SIGNING_KEY_PEM_BASE64:-}" ]; then
  exit 0
fi
key=$(openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | base64 | tr -d '\n')
azd env set AUTH_SIGNING_KEY_PEM_BASE64 "$key"
echo "Created the shared token signing key (AUTH_SIGNING_KEY_PEM_BASE64 in the azd environment)."
