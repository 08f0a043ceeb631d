// One replica region: a registry app of its own (the same package and Flex Consumption plan kind as the primary,
// from function.bicep), its own identity and storage account (storage.bicep: registry data, host storage, the
// deployment container and its `replication` queue), the primary's events delivered to that queue, and read-only
// access to the primary. The replica writes only its own account; writes clients send it go to the primary's app.

import { primaryRegistryType, roleFor, tagsType } from 'conventions.bicep'

@description('The replica\'s region.')
param location string

param tags tagsType

@description('Names of this region\'s resources.')
param names {
  identity: string
  storageAccount: string
  plan: string
  app: string
}

@description('The primary storage account (in this resource group), which the replica reads.')
param primaryStorageAccountName string

@description('What the replica app is told about the primary.')
param primary primaryRegistryType

@description('The primary\'s Event Grid topic (in this resource group).')
param topicName string

@description('The Key Vault (in this resource group) and the secret that hold the shared signing key.')
param signingKeyVaultName string

param signingKeySecretName string

@description('The URL clients reach the registry at (the Front Door endpoint).')
param publicUrl string

param applicationInsightsName string
param deploymentContainerName string
param replicationQueueName string

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@secure()
param adminPassword string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.identity
  location: location
  tags: tags
}

module storage 'storage.bicep' = {
  params: {
    name: names.storageAccount
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    replicationQueueName: replicationQueueName
    appIdentityName: identity.name
  }
}

module function 'function.bicep' = {
  params: {
    appName: names.app
    planName: names.plan
    location: location
    tags: tags
    identityName: identity.name
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    applicationInsightsName: applicationInsightsName
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    // No topic: the events a replica records are the primary's, already published once.
    topicEndpoint: ''
    publicUrl: publicUrl
    signingKey: { vaultName: signingKeyVaultName, secretName: signingKeySecretName }
    primary: primary
    adminPassword: adminPassword
  }
  dependsOn: [
    // The app reads the signing key at start: its role on the secret exists first.
    secretsUser
  ]
}

module delivery 'replication-delivery.bicep' = {
  params: {
    topicName: topicName
    subscriptionName: 'replication-${location}'
    storageAccountName: names.storageAccount
    replicationQueueName: replicationQueueName
  }
  dependsOn: [
    // The queue the subscription delivers to.
    storage
  ]
}

resource primaryAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: primaryStorageAccountName
}

// Storage Blob Data Reader on the primary: blob reads, and Get User Delegation Key (the role includes
// generateUserDelegationKey/action), so the replica can sign the read SAS its copies (Put Block From URL) and its
// pull fallbacks use. Nothing that writes.
resource primaryBlobReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(primaryAccount.id, identity.id, '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1')
  scope: primaryAccount
  properties: roleFor('2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', identity.properties.principalId)
}

// Storage Table Data Reader on the primary: tags, manifests, links, the outbox and the credentials to mirror.
resource primaryTableReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(primaryAccount.id, identity.id, '76199698-9eea-4c19-bc75-cec21354c6b6')
  scope: primaryAccount
  properties: roleFor('76199698-9eea-4c19-bc75-cec21354c6b6', identity.properties.principalId)
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: signingKeyVaultName

  resource secret 'secrets' existing = {
    name: signingKeySecretName
  }
}

// Key Vault Secrets User on the signing key only.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::secret.id, identity.id, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: vault::secret
  properties: roleFor('4633458b-17de-408a-b874-0445c86b69e6', identity.properties.principalId)
}

output appName string = function.outputs.name
output defaultHostName string = function.outputs.defaultHostName
