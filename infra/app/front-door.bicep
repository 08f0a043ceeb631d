// The Front Door (Standard) profile and endpoint that give every region one login server name, with a TLS
// certificate Front Door manages for <endpoint>-<hash>.z01.azurefd.net. Deployed only with replica regions. The
// origins and the route are in front-door-routes.bicep: they need the apps' host names, and the apps need this
// endpoint's host name first (their Registry__PublicUrl).

import { tagsType } from 'conventions.bicep'

param profileName string
param endpointName string
param tags tagsType

resource profile 'Microsoft.Cdn/profiles@2025-04-15' = {
  name: profileName
  location: 'global'
  tags: tags
  sku: {
    name: 'Standard_AzureFrontDoor'
  }
  properties: {
    // The longest Front Door waits for an origin's answer. The registry answers within Storage:RequestBudget
    // (120 s) plus body streaming, below the 230 s of the Functions front end; 240 s keeps Front Door out of the way.
    originResponseTimeoutSeconds: 240
  }
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2025-04-15' = {
  parent: profile
  name: endpointName
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

output profileName string = profile.name
output endpointName string = endpoint.name
output hostName string = endpoint.properties.hostName
