using Microsoft.Extensions.Options;
using Registry.Diagnostics;
using Registry.Events;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Jobs;

/// <summary>
/// The events sweep, every minute: publishes whatever the dispatchers left in an outbox (an instance that crashed,
/// scaled in, or is waiting to retry), removes published events past <c>Events:Retention</c>, and counts the backlog
/// (<c>registry.events.pending</c>). It reads only the repositories marked as having events.
/// </summary>
public sealed class EventSweepJob(Outbox outbox, EventDispatcher dispatcher, IOptions<EventsOptions> options, RegistryMetrics metrics, TimeProvider time)
    : IScheduledJob
{
    public string Name => "events";

    public string ScheduleSetting => "JOBS_EVENTS_SCHEDULE";

    public string DefaultSchedule => "0 * * * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return new JobReport(Name, JobReport.NotConfigured, "no event sink is configured (Events:TopicEndpoint, Events:Webhooks)");
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
}
