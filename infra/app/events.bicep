// The Event Grid custom topic the primary registry publishes its events to (pushes, deletes; CloudEvents 1.0).
// Each replica region subscribes to it with a subscription of its own (replication-delivery.bicep).

import { roleFor, tagsType } from 'conventions.bicep'

param topicName string
param location string
param tags tagsType

@description('Name of the app\'s user-assigned identity (in this resource group), which publishes the events.')
param appIdentityName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  // The topic's own identity delivers to the replicas' queues, so no subscription needs a storage key.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    // Publishers authenticate with Entra ID only: no topic access keys or SAS tokens.
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// EventGrid Data Sender on this topic only: the app publishes registry events with its identity.
resource eventGridDataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, appIdentity.id, 'd5a91429-5739-47e2-a06b-3470a27159e7')
  scope: topic
  properties: roleFor('d5a91429-5739-47e2-a06b-3470a27159e7', appIdentity.properties.principalId)
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
