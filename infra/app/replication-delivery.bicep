// One replica region's subscription to the primary's event topic: every registry event is delivered to the
// `replication` queue in that region's own account, where its `replicate` function takes it.

import { roleFor } from 'conventions.bicep'

@description('The primary\'s Event Grid topic (in this resource group).')
param topicName string

@description('Name of the subscription, unique on the topic.')
param subscriptionName string

@description('The replica region\'s storage account, which holds the queue.')
param storageAccountName string

param replicationQueueName string

resource topic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource replicationQueue 'queues' existing = {
      name: replicationQueueName
    }
  }
}

// Storage Queue Data Message Sender on this queue only: all the topic's identity does is add messages.
resource topicQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount::queueService::replicationQueue.id, topic.id, 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
  scope: storageAccount::queueService::replicationQueue
  properties: roleFor('c6a89b2d-59bc-44d0-9896-0f6e12d7b80a', topic.identity.principalId)
}

resource subscription 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: subscriptionName
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
