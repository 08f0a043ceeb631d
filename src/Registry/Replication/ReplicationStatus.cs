using Registry.Storage;

namespace Registry.Replication;

/// <summary>Where a replica stands: what the primary has not delivered yet, what it gave up on, and how the two differ.</summary>
/// <param name="PendingEvents">Events in the primary's outbox not acknowledged yet (by every sink: with the webhook
/// delivery, by the replica).</param>
/// <param name="OldestPending">When the oldest of them happened: the replication lag is the time since.</param>
/// <param name="DeadEvents">Events the primary gave up delivering: the replica never gets them; <c>verify --repair</c> brings what they carried.</param>
public sealed record ReplicaStatus(int PendingEvents, DateTimeOffset? OldestPending, int DeadEvents, ReplicaVerification Verification);

/// <summary>
/// Reads a replica's status: the primary's outbox, found through its <c>~events</c> markers (each repository with event
/// rows in any state), and a verification (<see cref="ReplicationVerifier"/>). Deployed, events leave the outbox once
/// Event Grid took them; those still in the <c>replication</c> queue are not counted here.
/// </summary>
public sealed class ReplicationStatusReader(PrimaryRegistry primary, ReplicationVerifier verifier)
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
        return new ReplicaStatus(pending, oldest, dead, await verifier.VerifyAsync(repair: false, cancellationToken));
    }
}
