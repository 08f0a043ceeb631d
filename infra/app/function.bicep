// The Flex Consumption plan and the function app that runs the registry as a custom handler, with every app
// setting the registry and the Functions host read. All identity-based: no key or connection string is set.
// Deployed once for the primary and once per replica region; a replica is the same app with `primary` given.

import { primaryRegistryType, tagsType } from 'conventions.bicep'

param appName string
param planName string
param location string
param tags tagsType

@description('Name of the user-assigned identity (in this resource group) the app runs as.')
param identityName string

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@allowed([512, 2048, 4096])
param instanceMemoryMB int

param applicationInsightsName string
param storageAccountName string
param blobEndpoint string
param tableEndpoint string
param queueEndpoint string
param deploymentContainerUrl string

@description('Event Grid topic the primary publishes to. Not set on a replica, whose events are the primary\'s, already published once.')
param topicEndpoint string

@description('The URL clients reach the registry at (the Front Door endpoint with replicas); absent: this app\'s own host name.')
param publicUrl string?

@description('The Key Vault secret holding the token signing key (PEM) every region shares; absent: the key is kept in table `auth`.')
param signingKey { vaultName: string, secretName: string }?

@description('Set on a replica: the primary it reads and forwards writes to. Absent on the primary.')
param primary primaryRegistryType?

@secure()
@description('Password of the registry\'s owner credential.')
param adminPassword string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: appName
  location: location
  // azd deploy finds the app to deploy the `registry` service of azure.yaml to by this tag. Only the primary has it:
  // azd refuses a service whose tag is on several resources, so replicas get the package from a postdeploy hook.
  tags: primary == null ? union(tags, { 'azd-service-name': 'registry' }) : tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // The identity that resolves @Microsoft.KeyVault(...) settings: the app has no system-assigned one.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Flex Consumption's custom-handler stack: the host starts the executable named in host.json.
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Publishing credentials (FTP and the SCM site's basic auth) are off: azd deploys with an Entra ID token.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// App settings are a child resource rather than siteConfig.appSettings so that Registry__PublicUrl can use the
// host name Azure actually assigned (properties.defaultHostName) without a reference cycle. This resource owns the
// whole collection: a setting added by hand in the portal is removed by the next provision.
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(
    {
      // Functions host storage, identity-based: the host reads AzureWebJobsStorage__* as one connection.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.properties.clientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
      // DefaultAzureCredential in the registry picks the user-assigned identity by this.
      AZURE_CLIENT_ID: identity.properties.clientId
      // The host parses this as a long (bytes) and applies it before forwarding to the handler; its default is
      // 100 MB, too small for image layers. 10 GiB here; the registry streams bodies, so memory does not grow with it.
      FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '10737418240'
      Registry__PublicUrl: publicUrl ?? 'https://${functionApp.properties.defaultHostName}'
      Storage__BlobServiceUri: blobEndpoint
      Storage__TableServiceUri: tableEndpoint
      Storage__ManagedIdentityClientId: identity.properties.clientId
      // The container, tables and queue come from this template; the app does not create them in Azure.
      Storage__CreateIfMissing: 'false'
      // On a replica too: the owner it writes at start has the primary's password (the credential mirror then
      // copies the primary's row over it), and no password is generated and printed there.
      Auth__AdminPassword: adminPassword
      // NCRONTAB (six fields, seconds first), read by the timer functions' function.json as %JOBS_..._SCHEDULE%.
      JOBS_UPLOAD_CLEANUP_SCHEDULE: '0 0 * * * *'
      JOBS_GARBAGE_COLLECTION_SCHEDULE: '0 30 3 * * *'
      JOBS_RETENTION_SCHEDULE: '0 0 3 * * *'
      // The usage and quota gauges: what the registry holds, counted hourly (its cost grows with the registry).
      JOBS_USAGE_SCHEDULE: '0 15 * * * *'
      // The events sweep: what an instance left in an outbox is published within a minute.
      JOBS_EVENTS_SCHEDULE: '0 * * * * *'
      // On a replica, the primary's credentials copied every minute (elsewhere the run does nothing).
      JOBS_REPLICATE_CREDENTIALS_SCHEDULE: '0 * * * * *'
      // The queue trigger's identity-based connection `ReplicationQueue` (queue `replication` in this app's account).
      ReplicationQueue__queueServiceUri: queueEndpoint
      ReplicationQueue__credential: 'managedidentity'
      ReplicationQueue__clientId: identity.properties.clientId
    },
    // Each condition below is known before deployment, so `bicep snapshot` (and What-If) resolve the settings.
    primary == null ? { Events__TopicEndpoint: topicEndpoint } : {},
    // Every region signs and verifies tokens with this one key, so a token from one region works in all of them.
    // Versionless: the app follows the secret's current version.
    signingKey == null
      ? {}
      : {
          Auth__SigningKeyPem: '@Microsoft.KeyVault(VaultName=${signingKey!.vaultName};SecretName=${signingKey!.secretName})'
        },
    primary == null
      ? {}
      : {
          // The primary's storage, read with this app's identity (reader roles there, see replica.bicep).
          Replication__Primary__BlobServiceUri: primary!.blobEndpoint
          Replication__Primary__TableServiceUri: primary!.tableEndpoint
          Replication__Primary__ManagedIdentityClientId: identity.properties.clientId
          // Writes sent to this region are forwarded there, with the client's credentials.
          Replication__PrimaryUrl: primary!.url
        }
  )
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
