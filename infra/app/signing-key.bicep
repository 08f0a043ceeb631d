// The token signing key every region shares, as a Key Vault secret (deployed only with replica regions). The apps
// read it through a Key Vault reference in Auth__SigningKeyPem; each app's identity may read this one secret.

import { roleFor, tagsType } from 'conventions.bicep'

param vaultName string
param secretName string
param location string
param tags tagsType

@secure()
@minLength(1)
@description('The ES256 private key as PEM, base64-encoded (one line, so azd can carry it in an environment variable).')
param signingKeyPemBase64 string

@description('Name of the primary app\'s user-assigned identity (in this resource group), which may read the secret.')
param appIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: vaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // Azure RBAC, not access policies: each app gets Key Vault Secrets User on the one secret below.
    enableRbacAuthorization: true
    enableSoftDelete: true
    // The shortest retention, so that `azd down --purge` and a new `azd up` with the same name do not collide long.
    softDeleteRetentionInDays: 7
    // The Flex apps resolve their Key Vault references over the public endpoint (no virtual network here).
    publicNetworkAccess: 'Enabled'
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: secretName
  properties: {
    value: base64ToString(signingKeyPemBase64)
    contentType: 'application/x-pem-file'
  }
}

// Key Vault Secrets User on this secret only: the primary app reads the key through its Key Vault reference.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signingKey.id, appIdentity.id, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: signingKey
  properties: roleFor('4633458b-17de-408a-b874-0445c86b69e6', appIdentity.properties.principalId)
}
