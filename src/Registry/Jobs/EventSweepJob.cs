using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Events;
using Registry.Oci;
using Registry.Replication;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Jobs;

/// <summary>
/// The events sweep, every minute: publishes whatever the dispatchers left in an outbox (an instance that crashed,
/// scaled in, or is waiting to retry), removes published events past <c>Events:Retention</c>, and counts the backlog
/// (<c>registry.events.pending</c>). It reads only the repositories marked as having events.
/// <para>On a replica with no sink, the rows replication wrote (each replicated push and delete writes its event row as
/// at the primary, which published that event already) are settled unpublished and pruned the same way, so they do not
/// pile up.</para>
/// </summary>
public sealed class EventSweepJob(
    Outbox outbox, EventDispatcher dispatcher, IOptions<EventsOptions> options, IOptions<ReplicationOptions> replication, RegistryMetrics metrics,
    TimeProvider time)
    : IScheduledJob
{
    public string Name => "events";

    public string ScheduleSetting => "JOBS_EVENTS_SCHEDULE";

    public string DefaultSchedule => "0 * * * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return replication.Value.IsReplica
                ? await SettleReplicatedAsync(cancellationToken)
                : new JobReport(Name, JobReport.NotConfigured, "no event sink is configured (Events:TopicEndpoint, Events:Webhooks)");
        }
        int repositories = 0, deferred = 0, pending = 0, pruned = 0;
        await foreach (var marker in outbox.MarkersAsync(cancellationToken))
        {
            if (!RepositoryName.TryParse(TableKeys.RepositoryFromKey(marker.Key), out var repository))
            {
                continue;
            }
            repositories++;
            if (await dispatcher.DrainAsync(repository, cancellationToken) is DrainResult.Deferred or DrainResult.Busy)
            {
                deferred++;
                pending += (await outbox.PendingAsync(repository, 1000, cancellationToken)).Count;
            }
            pruned += await outbox.PruneSentAsync(marker.Key, time.GetUtcNow() - options.Value.Retention, cancellationToken);
            await outbox.TryUnmarkAsync(marker, cancellationToken);
        }
        metrics.RecordPendingEvents(pending);
        return new JobReport(Name, JobReport.Completed,
            $"{repositories} repositories with events, {deferred} still waiting ({pending} events pending), {pruned} published events past retention removed");
    }

    private async Task<JobReport> SettleReplicatedAsync(CancellationToken cancellationToken)
    {
        int settled = 0, pruned = 0;
        await foreach (var marker in outbox.MarkersAsync(cancellationToken))
        {
            var rows = await outbox.RowsAsync(marker.Key, TableKeys.EventPrefix, null, 1000, cancellationToken);
            await outbox.MarkSentAsync(rows, release: null, cancellationToken);
            settled += rows.Count;
            pruned += await outbox.PruneSentAsync(marker.Key, time.GetUtcNow() - options.Value.Retention, cancellationToken);
            await outbox.TryUnmarkAsync(marker, cancellationToken);
        }
        return new JobReport(Name, JobReport.Completed,
            $"a replica with no event sink: {settled} events replication wrote settled unpublished (the primary published them), {pruned} past retention removed");
    }
}
