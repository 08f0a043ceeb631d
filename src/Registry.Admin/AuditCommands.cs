using System.CommandLine;
using System.Globalization;
using Registry.Storage.Audit;

namespace Registry.Admin;

/// <summary><c>registry-admin audit</c>: who pushed, pulled, deleted or was denied, when and from where.</summary>
internal static class AuditCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var since = new Option<string?>("--since") { Description = "An ISO date/time, or a duration back from now: 30m, 24h, 7d. Default: 24h." };
        var repo = new Option<string?>("--repo") { Description = "Only this repository." };
        var actor = new Option<string?>("--actor") { Description = "Only this actor (a token name, entra:<object id>, anonymous, cli:<user>)." };
        var audit = new Command("audit", "Prints the audit log, oldest first, tab-separated.") { since, repo, actor };
        audit.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => ShowAsync(c, p.GetValue(since), p.GetValue(repo), p.GetValue(actor), ct)));
        return audit;
    }

    public static async Task<int> ShowAsync(AdminContext context, string? since, string? repository, string? actor, CancellationToken cancellationToken)
    {
        var now = AdminContext.Time.GetUtcNow();
        if (ParseSince(since ?? "24h", now) is not { } from)
        {
            return await context.FailAsync([$"--since '{since}' is neither an ISO date/time nor a duration such as 30m, 24h or 7d"]);
        }
        await context.PrepareAsync(cancellationToken);
        await context.Output.WriteLineAsync("time\tactor\taction\trepository\treference\tstatus\tclient\tuser-agent");
        await foreach (var e in context.Audit.QueryAsync(from, now, repository, actor, cancellationToken))
        {
            await context.Output.WriteLineAsync(string.Join('\t',
                e.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), e.Actor, e.Action, e.Repository, e.Reference,
                e.Status.ToString(CultureInfo.InvariantCulture), e.ClientIp, e.UserAgent));
        }
        return AdminCli.Ok;
    }

    /// <summary><c>2026-11-01</c>, <c>2026-11-01T10:00Z</c>, or <c>30m</c>/<c>24h</c>/<c>7d</c> back from <paramref name="now"/>.</summary>
    internal static DateTimeOffset? ParseSince(string text, DateTimeOffset now)
    {
        if (text.Length >= 2 && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? back = text[^1] switch
            {
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (back is { } span)
            {
                return now - span;
            }
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
    }
}
