// The Event Grid custom topic the registry publishes its events to (pushes, deletes; CloudEvents 1.0), and, when
// replica regions exist, the subscription that delivers those events to the `replication` queue.

import { roleFor, tagsType } from 'conventions.bicep'

param topicName string
param location string
param tags tagsType

@description('Name of the app\'s user-assigned identity (in this resource group), which publishes the events.')
param appIdentityName string

@description('Deliver every event to the replication queue (true when replica regions are configured).')
param deliverToReplicationQueue bool

@description('Storage account that holds the replication queue.')
param storageAccountName string

param replicationQueueName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  // The topic's own identity delivers to the queue, so the subscription needs no storage key.
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

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = if (deliverToReplicationQueue) {
  name: storageAccountName

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource replicationQueue 'queues' existing = {
      name: replicationQueueName
    }
  }
}

// Storage Queue Data Message Sender on the replication queue only: all the topic's identity does is add messages.
resource topicQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deliverToReplicationQueue) {
  name: guid(storageAccount::queueService::replicationQueue.id, topic.id, 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
  scope: storageAccount::queueService::replicationQueue
  properties: roleFor('c6a89b2d-59bc-44d0-9896-0f6e12d7b80a', topic.identity.principalId)
}

resource replicationSubscription 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = if (deliverToReplicationQueue) {
  parent: topic
  name: 'replication'
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccount.id
          queueName: replicationQueueName
          // Messages stay until the replication function takes them, however long a region is unreachable.
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
  // Created after the topic's role on the queue, so the first deliveries are not refused for a missing role.
  dependsOn: [
    topicQueueSender
  ]
}

output name string = topic.name
output endpoint string = topic.properties.endpoint
