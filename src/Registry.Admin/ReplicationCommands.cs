using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Registry.Replication;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin --connection-string REPLICA replication status|verify --primary PRIMARY [--repair]</c>: a replica's
/// standing against its primary, and a comparison by their Table indexes that, with <c>--repair</c>, applies what is
/// missing or left over as the <c>replicate</c> function would (what a poison message or a long outage left behind).
/// </summary>
internal static class ReplicationCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var primary = new Option<string?>("--primary")
        {
            Description = "The primary's storage connection string. Default: environment variable Replication__Primary__ConnectionString.",
        };
        var repair = new Option<bool>("--repair") { Description = "Apply every difference found, as replication would." };
        var verify = new Command("verify",
            "Compares this replica (--connection-string) with its primary: one line per difference (kind, reference, detail), then a summary. Exit code 3 when differences remain.")
        {
            primary, repair,
        };
        IEnumerable<KeyValuePair<string, string?>> PrimarySetting(System.CommandLine.ParseResult p) =>
            p.GetValue(primary) is { } value ? [new("Replication:Primary:ConnectionString", value)] : [];
        verify.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => VerifyAsync(c, p.GetValue(repair), ct), PrimarySetting));
        var status = new Command("status",
            "This replica (--connection-string) against its primary: events the primary has not delivered, the lag (age of the oldest), events it gave up, " +
            "the backlog of the replica's own 'replication' queue (messages, poison messages, age of the oldest; 'not-used' without that queue), " +
            "and the differences by kind. Exit code 0 whatever it finds: 'verify' fails on differences.")
        {
            primary,
        };
        status.SetAction(AdminCli.Handler(connectionString, StatusAsync, PrimarySetting));
        return new Command("replication", "Geo-replication: a replica's status against its primary; compare and repair.") { status, verify };
    }

    private static async Task<int> StatusAsync(AdminContext context, System.CommandLine.ParseResult parse, CancellationToken cancellationToken)
    {
        if (NoPrimary(context) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var status = await context.Registry.GetRequiredService<ReplicationStatusReader>().ReadAsync(cancellationToken);
        var lag = status.OldestPending is { } oldest ? DateTimeOffset.UtcNow - oldest : TimeSpan.Zero;
        await context.Output.WriteLineAsync($"pending-events\t{status.PendingEvents}");
        await context.Output.WriteLineAsync($"lag-seconds\t{Math.Max(0, lag.TotalSeconds):0}");
        await context.Output.WriteLineAsync($"oldest-pending\t{(status.OldestPending is { } at ? at.ToString("O", CultureInfo.InvariantCulture) : "-")}");
        await context.Output.WriteLineAsync($"dead-events\t{status.DeadEvents}");
        await WriteQueueAsync(context, status.Queue);
        foreach (var kind in new[] { "missing-manifest", "missing-tag", "tag-differs", "extra-tag", "extra-manifest" })
        {
            await context.Output.WriteLineAsync($"{kind}\t{status.Verification.Differences.Count(d => d.Kind == kind)}");
        }
        await context.Error.WriteLineAsync(status.Verification.Summary);
        return AdminCli.Ok;
    }

    /// <summary>
    /// The replica's queue: <c>queue-pending</c>, <c>queue-poison</c>, <c>queue-age-seconds</c> and <c>queue-oldest</c>
    /// (of the oldest visible message), each <c>not-used</c> when the account has no <c>replication</c> queue.
    /// </summary>
    private static async Task WriteQueueAsync(AdminContext context, ReplicationQueueBacklog? queue)
    {
        const string notUsed = "not-used";
        var age = queue?.OldestVisible is { } inserted ? Math.Max(0, (DateTimeOffset.UtcNow - inserted).TotalSeconds).ToString("0", CultureInfo.InvariantCulture) : "-";
        await context.Output.WriteLineAsync($"queue-pending\t{queue?.Pending.ToString(CultureInfo.InvariantCulture) ?? notUsed}");
        await context.Output.WriteLineAsync($"queue-poison\t{queue?.Poison.ToString(CultureInfo.InvariantCulture) ?? notUsed}");
        await context.Output.WriteLineAsync($"queue-age-seconds\t{(queue is null ? notUsed : age)}");
        await context.Output.WriteLineAsync($"queue-oldest\t{(queue is null ? notUsed : queue.OldestVisible?.ToString("O", CultureInfo.InvariantCulture) ?? "-")}");
        if (queue is null)
        {
            await context.Error.WriteLineAsync(context.Registry.GetRequiredService<ReplicationQueueReader>().HasQueueService
                ? $"the '{ReplicationQueueReader.QueueName}' queue is not used here: this account has none (a standalone registry, or a replica fed by the webhook delivery)"
                : $"the '{ReplicationQueueReader.QueueName}' queue is not used here: no queue endpoint is known (set Storage__QueueServiceUri, or a QueueEndpoint in the connection string)");
        }
        else if (queue.Poison > 0)
        {
            await context.Error.WriteLineAsync(
                $"{queue.Poison} events in '{ReplicationQueueReader.PoisonQueueName}' were given up by the replicate function: 'replication verify --repair' brings what they carried");
        }
    }

    private static string? NoPrimary(AdminContext context) =>
        context.Registry.GetRequiredService<PrimaryRegistry>().IsConfigured
            ? null
            : "no primary: pass --primary CONNECTION-STRING or set Replication__Primary__ConnectionString";

    /// <summary>The exit code when the replica differs from the primary (after a repair: still differs).</summary>
    public const int Differs = 3;

    private static async Task<int> VerifyAsync(AdminContext context, bool repair, CancellationToken cancellationToken)
    {
        if (NoPrimary(context) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var verifier = context.Registry.GetRequiredService<ReplicationVerifier>();
        var report = await verifier.VerifyAsync(repair, cancellationToken);
        await context.Output.WriteLineAsync("kind\treference\tdetail");
        foreach (var difference in report.Differences)
        {
            await context.Output.WriteLineAsync(string.Join('\t', difference.Kind, difference.Reference, difference.Detail));
        }
        foreach (var failure in report.Failures)
        {
            await context.Error.WriteLineAsync("error: " + failure);
        }
        await context.Error.WriteLineAsync(report.Summary);
        if (repair && report.Differences.Count > 0)
        {
            var after = await verifier.VerifyAsync(repair: false, cancellationToken);
            await context.Error.WriteLineAsync("after the repair: " + after.Summary);
            return after.Differences.Count == 0 ? AdminCli.Ok : Differs;
        }
        return report.Differences.Count == 0 ? AdminCli.Ok : Differs;
    }
}
