// One region's storage account, the primary's or a replica's: registry data (container `registry`, the registry's
// tables), the Functions host's own storage (AzureWebJobsStorage), the deployment package container, and the
// `replication` queue that Event Grid fills (on a replica) and the queue trigger drains. It also grants that
// region's app identity its data roles here: the only account the app writes.

import { hardenedStorageProperties, registryContainerName, registryTableNames, roleFor, tagsType } from 'conventions.bicep'

param name string
param location string
param tags tagsType

@description('Container the Flex Consumption app is deployed from (functionAppConfig.deployment.storage).')
param deploymentContainerName string

@description('Queue that Event Grid delivers registry events to and the replication function reads.')
param replicationQueueName string

@description('Name of the app\'s user-assigned identity (in this resource group), which gets the data roles below.')
param appIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: hardenedStorageProperties
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource registryContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: registryContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-01-01' = [
  for tableName in registryTableNames: {
    parent: tableService
    name: tableName
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: account
  name: 'default'
}

resource replicationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: replicationQueueName
}

// Storage Blob Data Owner: this account is also the Functions host's storage (AzureWebJobsStorage), and the
// Functions documentation names Blob Data Owner as the minimum for identity-based host storage (the host creates
// its own containers for keys, locks and timer schedules). It covers the registry container and the deployment
// package container too, so no separate Blob Data Contributor is granted here.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: account
  properties: roleFor('b7e6dc6d-f1e8-4753-8033-0f276bb0955b', appIdentity.properties.principalId)
}

// Storage Blob Delegator: pulls answer with a redirect to a read-only user-delegation SAS; getting the user
// delegation key needs this role (shared keys are disabled, so no other SAS can be signed).
resource blobDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')
  scope: account
  properties: roleFor('db58b8e5-c6ad-4a2a-8342-4190687cbf4a', appIdentity.properties.principalId)
}

// Storage Table Data Contributor: the registry's state (repositories, blobs, auth, audit) lives in tables, and the
// Functions host persists its diagnostic events to tables in host storage.
resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: account
  properties: roleFor('0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', appIdentity.properties.principalId)
}

// Storage Queue Data Contributor: the queue trigger on `replication` reads, updates and deletes messages, and after
// the last retry it creates `replication-poison` and moves the message there. Message Processor alone can neither
// create that queue nor add to it, so the contributor role is needed, on this account only.
resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: account
  properties: roleFor('974c5e8b-45b9-4653-ba55-5f855dd0fb88', appIdentity.properties.principalId)
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output queueEndpoint string = account.properties.primaryEndpoints.queue
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
