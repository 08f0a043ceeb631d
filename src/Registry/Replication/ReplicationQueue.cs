using Azure;
using Azure.Storage.Queues;
using Registry.Storage;

namespace Registry.Replication;

/// <summary>What waits in a deployed replica's <c>replication</c> queue.</summary>
/// <param name="Pending">The queue's approximate message count: events Event Grid delivered that the <c>replicate</c>
/// function has not finished yet (those it is working on, or waiting to retry, included).</param>
/// <param name="Poison">Messages in <c>replication-poison</c>: events the Functions host gave up on after its last retry;
/// <c>verify --repair</c> brings what they carried.</param>
/// <param name="OldestVisible">When the oldest message that is visible now was put in the queue (null when none is).</param>
public sealed record ReplicationQueueBacklog(int Pending, int Poison, DateTimeOffset? OldestVisible);

/// <summary>
/// Reads the backlog of the <c>replication</c> queue in this instance's own storage account (<see cref="StorageClients.QueueService"/>),
/// where Event Grid delivers the primary's events to a deployed replica and the Functions host's queue trigger
/// (<c>src/Registry.Host/Functions/replicate/function.json</c>) takes them. A standalone registry, and a replica fed by
/// the webhook delivery, have no such queue.
/// </summary>
public sealed class ReplicationQueueReader(StorageClients clients)
{
    /// <summary>The queue the <c>replicate</c> function's trigger reads (<c>queueName</c> in its function.json, <c>infra/main.bicep</c>).</summary>
    public const string QueueName = "replication";

    /// <summary>Where the Functions host moves a message after its last failed try (its convention: the queue's name + <c>-poison</c>).</summary>
    public const string PoisonQueueName = QueueName + "-poison";

    /// <summary>Whether a queue endpoint is known for this account at all.</summary>
    public bool HasQueueService => clients.QueueService is not null;

    /// <summary>
    /// The backlog; null when the queue is not used here (no queue endpoint, or no <c>replication</c> queue in the
    /// account). A missing poison queue counts 0: the host creates it with its first message. Reads only: peeking
    /// leaves every message as it was.
    /// </summary>
    public async Task<ReplicationQueueBacklog?> ReadAsync(CancellationToken cancellationToken)
    {
        if (clients.QueueService is not { } service)
        {
            return null;
        }
        var queue = service.GetQueueClient(QueueName);
        var pending = await CountAsync(queue, cancellationToken);
        if (pending is null)
        {
            return null;
        }
        var poison = CountAsync(service.GetQueueClient(PoisonQueueName), cancellationToken);
        var oldest = queue.PeekMessageAsync(cancellationToken);
        await Task.WhenAll(poison, oldest);
        return new ReplicationQueueBacklog(pending.Value, (await poison) ?? 0, (await oldest).Value?.InsertedOn);
    }

    /// <summary>The queue's approximate message count; null when the queue does not exist.</summary>
    private static async Task<int?> CountAsync(QueueClient queue, CancellationToken cancellationToken)
    {
        try
        {
            return (await queue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }
}
