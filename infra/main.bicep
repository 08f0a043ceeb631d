// `azd up` entry point: a resource group `rg-<environment>` holding the registry's function app (Flex Consumption,
// custom handler), its user-assigned identity, the primary storage account, Application Insights and the Event Grid
// topic. With replica regions, also per region a replica registry app with its own identity and storage account
// (app/replica.bicep), the Key Vault holding the signing key they all share, and the Front Door endpoint that is
// the one login server of every region. Modules under app/ hold the resources; this file names them and wires them
// together.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every other resource name.')
param environmentName string

@minLength(1)
@description('Region of the resource group, the function app and the primary storage account.')
param location string

@maxLength(60)
@description('Function app name, which is also the first label of its host name; empty picks func-<unique token>.')
param name string = ''

@description('Regions to run a read replica of the registry in, comma-separated (e.g. \'westeurope,eastasia\'; azd: REPLICA_REGIONS); empty: no replication, no Front Door, no Key Vault.')
param replicaRegions string = ''

@secure()
@description('With replica regions: the token signing key every region shares, an ES256 (P-256) private key as PEM, base64-encoded on one line (azd: AUTH_SIGNING_KEY_PEM_BASE64, which infra/hooks/preprovision.sh generates). Unused without replicas.')
param signingKeyPemBase64 string = ''

@secure()
@minLength(12)
@description('Password of the registry owner credential (user `admin`). azd prompts for it and keeps it in the environment.')
param adminPassword string

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out ceiling (instances).')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

var tags = {
  'azd-env-name': environmentName
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var appName = empty(name) ? 'func-${resourceToken}' : name
var deploymentContainerName = 'app-package'
var replicationQueueName = 'replication'
// Names are computed here, before deployment, rather than read from module outputs: modules use them in resource
// ids (existing references, role assignment names), which What-If can only predict from values known up front.
var identityName = 'id-${resourceToken}'
var applicationInsightsName = 'appi-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var topicName = 'evgt-${resourceToken}'
var vaultName = 'kv-${resourceToken}'
var signingKeySecretName = 'auth-signing-key-pem'
var frontDoorProfileName = 'afd-${resourceToken}'
var frontDoorEndpointName = 'registry-${resourceToken}'
// `westeurope, EastAsia,` is ['westeurope', 'eastasia']; an empty string is no region.
var regions = filter(map(split(replicaRegions, ','), region => toLower(trim(region))), region => !empty(region))
var replicated = !empty(regions)
var replicaAppNames = [for region in regions: take('${appName}-${region}', 60)]

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    replicationQueueName: replicationQueueName
    appIdentityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module events 'app/events.bicep' = {
  scope: rg
  params: {
    topicName: topicName
    location: location
    tags: tags
    appIdentityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module signingKey 'app/signing-key.bicep' = if (replicated) {
  scope: rg
  params: {
    vaultName: vaultName
    secretName: signingKeySecretName
    location: location
    tags: tags
    signingKeyPemBase64: signingKeyPemBase64
    appIdentityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module frontDoor 'app/front-door.bicep' = if (replicated) {
  scope: rg
  params: {
    profileName: frontDoorProfileName
    endpointName: frontDoorEndpointName
    tags: tags
  }
}

// With replicas every region hands out the Front Door URL (token realm, Registry__PublicUrl), so a token got from
// one region is for the same registry in all of them.
var publicUrl = replicated ? 'https://${frontDoor!.outputs.hostName}' : null

module function 'app/function.bicep' = {
  scope: rg
  params: {
    appName: appName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityName: identityName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    applicationInsightsName: applicationInsightsName
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    topicEndpoint: events.outputs.endpoint
    publicUrl: publicUrl
    signingKey: replicated ? { vaultName: vaultName, secretName: signingKeySecretName } : null
    adminPassword: adminPassword
  }
  dependsOn: [
    monitoring
    // The app reads the signing key at start: the secret and its role exist first.
    signingKey
  ]
}

module replicas 'app/replica.bicep' = [
  for (region, i) in regions: {
    scope: rg
    params: {
      location: region
      tags: tags
      names: {
        identity: 'id-${uniqueString(resourceToken, region)}'
        storageAccount: 'st${uniqueString(resourceToken, region)}'
        plan: 'plan-${uniqueString(resourceToken, region)}'
        app: replicaAppNames[i]
      }
      primaryStorageAccountName: storageAccountName
      primary: {
        blobEndpoint: storage.outputs.blobEndpoint
        tableEndpoint: storage.outputs.tableEndpoint
        url: 'https://${function.outputs.defaultHostName}'
      }
      topicName: topicName
      signingKeyVaultName: vaultName
      signingKeySecretName: signingKeySecretName
      publicUrl: publicUrl!
      applicationInsightsName: applicationInsightsName
      deploymentContainerName: deploymentContainerName
      replicationQueueName: replicationQueueName
      maximumInstanceCount: maximumInstanceCount
      instanceMemoryMB: instanceMemoryMB
      adminPassword: adminPassword
    }
    dependsOn: [
      monitoring
      // The vault and the secret the replica's role is scoped to.
      signingKey
    ]
  }
]

module frontDoorRoutes 'app/front-door-routes.bicep' = if (replicated) {
  scope: rg
  params: {
    profileName: frontDoorProfileName
    endpointName: frontDoorEndpointName
    primaryHostName: function.outputs.defaultHostName
    replicaOrigins: [for (region, i) in regions: { name: region, hostName: replicas[i].outputs.defaultHostName }]
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_EVENTGRID_TOPIC_NAME string = events.outputs.name
output AZURE_EVENTGRID_TOPIC_ENDPOINT string = events.outputs.endpoint
// The login server: Front Door's endpoint with replicas, the app's own host name without.
output REGISTRY_URL string = publicUrl ?? 'https://${function.outputs.defaultHostName}'
output REGISTRY_LOGIN_SERVER string = replicated ? frontDoor!.outputs.hostName : function.outputs.defaultHostName
// Where replicas forward writes; also where the primary is reached past Front Door.
output REGISTRY_PRIMARY_URL string = 'https://${function.outputs.defaultHostName}'
// Read by infra/hooks/deploy-replicas.sh, which deploys the package azd deployed to the primary to these apps too.
output REPLICA_FUNCTION_APP_NAMES string = join(replicaAppNames, ',')
