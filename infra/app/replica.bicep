// One replica storage account in another region: the same hardening, container and tables as the primary, so
// the replication function can copy blobs and state there and pulls can be served from it.

import { hardenedStorageProperties, registryContainerName, registryTableNames, roleFor, tagsType } from 'conventions.bicep'

param name string

@description('The replica\'s region.')
param location string

param tags tagsType

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

// Storage Blob Data Contributor: replication writes and deletes blobs here. Unlike the primary, this account is not
// the Functions host's storage, so the Owner role that host storage needs is not granted.
resource blobDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: account
  properties: roleFor('ba92f5b4-2d11-453d-a403-e96b0029c9fe', appIdentity.properties.principalId)
}

// Storage Blob Delegator: a pull served from this region redirects to a user-delegation SAS signed by this account.
resource blobDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a')
  scope: account
  properties: roleFor('db58b8e5-c6ad-4a2a-8342-4190687cbf4a', appIdentity.properties.principalId)
}

// Storage Table Data Contributor: replication copies the registry's table state here.
resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: account
  properties: roleFor('0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', appIdentity.properties.principalId)
}

output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
