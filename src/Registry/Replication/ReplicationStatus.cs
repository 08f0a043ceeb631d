using Registry.Storage;

namespace Registry.Replication;

/// <summary>Where a replica stands: what the primary has not delivered yet, what it gave up on, and how the two differ.</summary>
/// <param name="PendingEvents">Events in the primary's outbox not acknowledged yet (by every sink: with the webhook
/// delivery, by the replica).</param>
/// <param name="OldestPending">When the oldest of them happened: the replication lag is the time since.</param>
/// <param name="DeadEvents">Events the primary gave up delivering: the replica never gets them; <c>verify --repair</c> brings what they carried.</param>
/// <param name="Queue">The backlog of the replica's own <c>replication</c> queue, where a deployed replica's events wait;
/// null when it has none (webhook delivery, or no replica at all).</param>
public sealed record ReplicaStatus(
    int PendingEvents, DateTimeOffset? OldestPending, int DeadEvents, ReplicaVerification Verification, ReplicationQueueBacklog? Queue);

/// <summary>
/// Reads a replica's status: the primary's outbox, found through its <c>~events</c> markers (each repository with event
/// rows in any state), a verification (<see cref="ReplicationVerifier"/>), and the replica's own queue
/// (<see cref="ReplicationQueueReader"/>). Deployed, events leave the outbox once Event Grid took them: from then on they
/// wait in that queue.
/// </summary>
public sealed class ReplicationStatusReader(PrimaryRegistry primary, ReplicationVerifier verifier, ReplicationQueueReader queue)
{
    private const int MaxRowsPerPartition = 100_000;

    public async Task<ReplicaStatus> ReadAsync(CancellationToken cancellationToken)
    {
        var outbox = primary.Outbox;
        int pending = 0, dead = 0;
        DateTimeOffset? oldest = null;
        await foreach (var marker in outbox.MarkersAsync(cancellationToken))
        {
            var waiting = await outbox.RowsAsync(marker.Key, TableKeys.EventPrefix, null, MaxRowsPerPartition, cancellationToken);
            pending += waiting.Count;
            if (waiting.Count > 0 && (oldest is null || waiting[0].OccurredOn < oldest))
            {
                oldest = waiting[0].OccurredOn;
            }
            dead += (await outbox.RowsAsync(marker.Key, TableKeys.DeadPrefix, null, MaxRowsPerPartition, cancellationToken)).Count;
        }
        var backlog = await queue.ReadAsync(cancellationToken);
        return new ReplicaStatus(pending, oldest, dead, await verifier.VerifyAsync(repair: false, cancellationToken), backlog);
    }
}
