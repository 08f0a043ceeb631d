// The one user-assigned identity the primary function app uses for everything: host storage, deployment package,
// registry data, the replication queue trigger and publishing events.

import { tagsType } from 'conventions.bicep'

param name string
param location string
param tags tagsType

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output clientId string = identity.properties.clientId
