// `azd up` entry point: a resource group `rg-<environment>` holding the registry's function app (Flex Consumption,
// custom handler), its user-assigned identity, the primary storage account, Application Insights, the Event Grid
// topic, and one storage account per replica region. Modules under app/ hold the resources; this file names them
// and wires them together.

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

@description('Regions to keep a replica storage account in (e.g. [\'eastus\', \'westeurope\']); empty: no replication.')
param replicaRegions string[] = []

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

module replicas 'app/replica.bicep' = [
  for region in replicaRegions: {
    scope: rg
    params: {
      name: 'st${uniqueString(resourceToken, region)}'
      location: region
      tags: tags
      appIdentityName: identityName
    }
    dependsOn: [
      identity
    ]
  }
]

module events 'app/events.bicep' = {
  scope: rg
  params: {
    topicName: 'evgt-${resourceToken}'
    location: location
    tags: tags
    appIdentityName: identityName
    deliverToReplicationQueue: !empty(replicaRegions)
    storageAccountName: storageAccountName
    replicationQueueName: replicationQueueName
  }
  dependsOn: [
    identity
    storage
  ]
}

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
    replicaBlobEndpoints: [for (region, i) in replicaRegions: replicas[i].outputs.blobEndpoint]
    replicaTableEndpoints: [for (region, i) in replicaRegions: replicas[i].outputs.tableEndpoint]
    adminPassword: adminPassword
  }
  dependsOn: [
    monitoring
  ]
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
output REGISTRY_URL string = 'https://${function.outputs.defaultHostName}'
output REGISTRY_LOGIN_SERVER string = function.outputs.defaultHostName
