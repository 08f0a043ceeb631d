#!/bin/sh
# azd postdeploy hook (project level, after `azd deploy`). azd deploys the package to the one app tagged
# azd-service-name: registry, the primary (it refuses a tag found on several apps); this deploys the same build to
# every replica app (REPLICA_FUNCTION_APP_NAMES, an output of infra/main.bicep). Needs the Azure CLI signed in
# (`az login`) to the subscription azd deployed to, and `zip`.
set -eu

if [ -z "${REPLICA_FUNCTION_APP_NAMES:-}" ]; then
  exit 0
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The same publish azd runs for the service (self-contained linux-x64, from Registry.Host.csproj).
dotnet publish "$root/src/Registry.Host" -c Release -o "$work/app"
# zip keeps the Unix mode, so Registry.Host stays executable.
(cd "$work/app" && zip -qr "$work/app.zip" .)

for app in $(echo "$REPLICA_FUNCTION_APP_NAMES" | tr ',' ' '); do
  echo "Deploying to replica app $app"
  az functionapp deployment source config-zip --resource-group "$AZURE_RESOURCE_GROUP" --name "$app" --src "$work/app.zip"
done
