using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Events;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin events [--since 1h] [--repo NAME]</c>: what was published, what is pending and what was
/// dead-lettered; <c>registry-admin events replay --since ... [--repo NAME] [--to URL]</c>: sends published events
/// again, with their ids (subscribers must be idempotent on the event id).
/// </summary>
internal static class EventCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        static Option<string?> Since() => new("--since") { Description = "An ISO date/time, or a duration back from now: 30m, 24h, 7d. Default: 1h." };
        static Option<string?> Repo() => new("--repo") { Description = "Only this repository." };
        var (since, repo, replaySince, replayRepo) = (Since(), Repo(), Since(), Repo());
        var to = new Option<string?>("--to") { Description = "Send to this webhook URL instead of the configured sinks." };
        var allowPrivate = new Option<bool>("--allow-private") { Description = "Let --to be a loopback or private address (local development)." };
        var replay = new Command("replay", "Sends the events published since --since again, in order, with their ids.") { replaySince, replayRepo, to, allowPrivate };
        replay.SetAction(AdminCli.Handler(connectionString,
            (c, p, ct) => ReplayAsync(c, p.GetValue(replaySince), p.GetValue(replayRepo), p.GetValue(to), p.GetValue(allowPrivate), ct)));
        var events = new Command("events", "Lists events: published (since --since), pending and dead-lettered, tab-separated.") { since, repo, replay };
        events.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => ListAsync(c, p.GetValue(since), p.GetValue(repo), ct)));
        return events;
    }

    public static async Task<int> ListAsync(AdminContext context, string? since, string? repo, CancellationToken cancellationToken)
    {
        if (Parse(since, repo) is not { } scope)
        {
            return await context.FailAsync([$"--since '{since}' must be an ISO date/time or 30m/24h/7d, and --repo a repository name"]);
        }
        await context.PrepareAsync(cancellationToken);
        var outbox = context.Registry.GetRequiredService<Outbox>();
        await context.Output.WriteLineAsync("time\tstate\ttype\trepository\treference\tid\tattempts\tlast-error");
        await foreach (var partition in PartitionsAsync(outbox, scope.Repository, cancellationToken))
        {
            foreach (var (prefix, state, from) in new[] { (TableKeys.SentPrefix, "published", (DateTimeOffset?)scope.From), (TableKeys.EventPrefix, "pending", null), (TableKeys.DeadPrefix, "dead", null) })
            {
                foreach (var row in await outbox.RowsAsync(partition, prefix, from, int.MaxValue, cancellationToken))
                {
                    await context.Output.WriteLineAsync(string.Join('\t',
                        row.OccurredOn.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), state, RegistryEvents.TypeOf(row), row.Repository,
                        row.Tag is { } tag ? $"{row.Repository}:{tag}" : $"{row.Repository}@{row.Digest}", row.Id,
                        row.Attempts.ToString(CultureInfo.InvariantCulture), row.LastError ?? ""));
                }
            }
        }
        return AdminCli.Ok;
    }

    public static async Task<int> ReplayAsync(
        AdminContext context, string? since, string? repo, string? toText, bool allowPrivate, CancellationToken cancellationToken)
    {
        Uri? to = null;
        if (toText is not null && !Uri.TryCreate(toText, UriKind.Absolute, out to))
        {
            return await context.FailAsync([$"--to '{toText}' is not an absolute URL"]);
        }
        if (Parse(since, repo) is not { } scope)
        {
            return await context.FailAsync([$"--since '{since}' must be an ISO date/time or 30m/24h/7d, and --repo a repository name"]);
        }
        if (to is not null && TargetAddresses.Problem(to, allowPrivate) is { } problem)
        {
            return await context.FailAsync([$"--to: {problem}"]);
        }
        var options = context.Registry.GetRequiredService<IOptions<EventsOptions>>().Value;
        if (to is null && !options.Enabled)
        {
            return await context.FailAsync(["no sink is configured (Events__TopicEndpoint, Events__Webhooks__0__Url): name one with --to"]);
        }
        await context.PrepareAsync(cancellationToken);
        using var webhook = to is null ? null : new WebhookSink(new WebhookOptions { Url = to }, allowPrivate, options.SendTimeout);
        var outbox = context.Registry.GetRequiredService<Outbox>();
        var sinks = context.Registry.GetRequiredService<EventSinks>();
        var sent = 0;
        await foreach (var partition in PartitionsAsync(outbox, scope.Repository, cancellationToken))
        {
            var rows = await outbox.RowsAsync(partition, TableKeys.SentPrefix, scope.From, int.MaxValue, cancellationToken);
            foreach (var chunk in rows.Chunk(50))
            {
                var batch = RegistryEvents.Batch(chunk, options.Source ?? "registry");
                var delivery = webhook is null ? await sinks.SendAsync(batch, cancellationToken) : await webhook.SendAsync(batch, cancellationToken);
                if (delivery.Outcome != DeliveryOutcome.Delivered)
                {
                    await context.Error.WriteLineAsync($"error: replay stopped after {sent} events: {delivery.Error}");
                    return AdminCli.StorageError;
                }
                sent += chunk.Length;
            }
        }
        await context.Output.WriteLineAsync($"replayed {sent} events");
        await context.RecordAsync("events-replay", to?.Host ?? "configured sinks", cancellationToken);
        return AdminCli.Ok;
    }

    private static (DateTimeOffset From, RepositoryName? Repository)? Parse(string? since, string? repo)
    {
        if (AuditCommands.ParseSince(since ?? "1h", AdminContext.Time.GetUtcNow()) is not { } from)
        {
            return null;
        }
        if (repo is null)
        {
            return (from, null);
        }
        return RepositoryName.TryParse(repo, out var name) ? (from, name) : null;
    }

    private static async IAsyncEnumerable<string> PartitionsAsync(
        Outbox outbox, RepositoryName? repository, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (repository is { } one)
        {
            yield return TableKeys.Repository(one);
            yield break;
        }
        await foreach (var marker in outbox.MarkersAsync(cancellationToken))
        {
            yield return marker.Key;
        }
    }
}
