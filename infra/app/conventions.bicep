// What every module shares, in one place: how a storage account is hardened (so a replica can never be weaker
// than the primary), the registry's container and table names, the tag type, and how a role is granted to the
// app's identity.

@export()
@description('Resource tags: names to string values.')
type tagsType = {
  *: string
}

@export()
@description('Entra ID only (no shared keys, so no connection strings exist), HTTPS only, TLS 1.2, nothing anonymous.')
var hardenedStorageProperties = {
  allowSharedKeyAccess: false
  supportsHttpsTrafficOnly: true
  minimumTlsVersion: 'TLS1_2'
  allowBlobPublicAccess: false
  // The portal then browses data with the signed-in user's Entra identity, as it must without keys.
  defaultToOAuthAuthentication: true
  allowCrossTenantReplication: false
  // Docker clients fetch layers straight from Blob Storage through user-delegation SAS redirects.
  publicNetworkAccess: 'Enabled'
  accessTier: 'Hot'
}

@export()
@description('The blob container that holds layers and manifests, in the primary account and every replica.')
var registryContainerName = 'registry'

@export()
@description('The tables the registry keeps its state in (see src/Registry/Storage/StorageOptions.cs).')
var registryTableNames = [
  'repositories'
  'blobs'
  'auth'
  'audit'
  'policies'
]

@export()
@description('The properties of a role assignment to a managed identity.')
type roleAssignmentPropertiesType = {
  principalId: string
  principalType: 'ServicePrincipal'
  roleDefinitionId: string
}

@export()
@description('Grants a built-in role (by its definition GUID) to a managed identity. principalType is set so that Entra ID need not look up a just-created identity, which can fail while it replicates.')
func roleFor(roleDefinitionGuid string, principalId string) roleAssignmentPropertiesType => {
  principalId: principalId
  principalType: 'ServicePrincipal'
  roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
}

@export()
@description('What a replica app is told about its primary: where to read its storage, and where to forward writes.')
type primaryRegistryType = {
  @description('The primary account\'s blob endpoint (read with Storage Blob Data Reader).')
  blobEndpoint: string
  @description('The primary account\'s table endpoint (read with Storage Table Data Reader).')
  tableEndpoint: string
  @description('The primary registry\'s own URL (its function app host name), where the replica forwards writes.')
  url: string
}
