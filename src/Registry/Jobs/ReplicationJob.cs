using System.Text.Json;
using Microsoft.Extensions.Options;
using Registry.Replication;

namespace Registry.Jobs;

/// <summary>
/// Geo-replication of registry events: in the deployed app one CloudEvent per <c>replication</c> queue message (Event
/// Grid delivers them there), standalone a webhook batch from the primary (<c>POST /_replication/events</c>). Each event
/// is applied to this replica by <see cref="ImageReplicator"/>. A message that is no registry event is refused (null),
/// so the host retries it and finally moves it to the poison queue instead of losing it silently; an event that cannot
/// be applied now throws, so it is retried the same way.
/// </summary>
public sealed class ReplicationJob(IOptions<ReplicationOptions> options, ImageReplicator replicator)
{
    public const string Name = "replicate";

    /// <summary>Handles one queue message (one event, or an array of them); null when it holds no registry event.</summary>
    public async Task<JobReport?> HandleAsync(string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        List<ReplicationEvent> events;
        try
        {
            using var document = JsonDocument.Parse(message);
            if (Parse(document.RootElement, out _) is not { } parsed)
            {
                return null;
            }
            events = parsed;
        }
        catch (JsonException)
        {
            return null;
        }
        return await ApplyAsync(events, cancellationToken);
    }

    /// <summary>
    /// The events of <paramref name="root"/>: one CloudEvent or a batch (an array) of them; null, with the first problem,
    /// when any of them is not a registry event.
    /// </summary>
    public static List<ReplicationEvent>? Parse(JsonElement root, out string? problem)
    {
        problem = null;
        var elements = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        var events = new List<ReplicationEvent>(elements.Count);
        foreach (var element in elements)
        {
            if (ReplicationEvent.Parse(element, out problem) is not { } parsed)
            {
                return null;
            }
            events.Add(parsed);
        }
        return events;
    }

    /// <summary>Applies <paramref name="events"/> in order; throws when one cannot be applied now (retry them all: each is idempotent).</summary>
    public async Task<JobReport> ApplyAsync(IReadOnlyList<ReplicationEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (!options.Value.IsReplica)
        {
            return new JobReport(Name, JobReport.NotConfigured,
                $"this instance is no replica (Replication:Primary is not set); {events.Count} events need no copy");
        }
        var summaries = new List<string>(events.Count);
        foreach (var change in events)
        {
            var result = await replicator.ApplyAsync(change, cancellationToken);
            summaries.Add($"{change.Id}: {result.Summary()}");
        }
        return new JobReport(Name, JobReport.Completed, string.Join(" | ", summaries));
    }
}
