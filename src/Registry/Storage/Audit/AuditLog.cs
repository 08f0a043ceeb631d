using System.Globalization;
using System.Runtime.CompilerServices;
using Azure.Data.Tables;
using Registry.Storage;

namespace Registry.Storage.Audit;

/// <summary>One audited event: who did what to which repository, from where, with what result.</summary>
public sealed record AuditEntry(
    DateTimeOffset At, string Actor, string Action, string? Repository, string? Reference, int Status,
    string? ClientIp, string? UserAgent, string Method, string Path);

/// <summary>
/// The append-only audit log in table <c>audit</c>: PartitionKey = the UTC day (<c>yyyy-MM-dd</c>), so a day's log is
/// one partition query; RowKey = <c>&lt;19-digit ticks&gt;-&lt;random&gt;</c>, so rows sort by time and never collide.
/// Rows are only ever inserted. Secrets never reach it: paths are recorded without their query strings, and
/// credentials are never among the fields.
/// </summary>
public sealed class AuditLog(StorageClients clients)
{
    private const int MaxTextLength = 512;

    public async Task AppendAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await clients.Audit.AddEntityAsync(Row(entry), cancellationToken);
    }

    /// <summary>
    /// Inserts <paramref name="entries"/> with one entity-group transaction per UTC day and per 100 rows (the Table
    /// limit), so a burst of records costs a call per hundred. A failed transaction loses only its own rows.
    /// </summary>
    public async Task AppendBatchAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var day in entries.GroupBy(e => Day(e.At)))
        {
            foreach (var chunk in day.Chunk(100))
            {
                await clients.Audit.SubmitTransactionAsync(
                    chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Add, Row(e))), cancellationToken);
            }
        }
    }

    private static TableEntity Row(AuditEntry entry) =>
        new(Day(entry.At), $"{entry.At.UtcTicks:D19}-{Guid.NewGuid():N}"[..28])
        {
            ["Actor"] = Clip(entry.Actor),
            ["Action"] = entry.Action,
            ["Repository"] = entry.Repository,
            ["Reference"] = Clip(entry.Reference),
            ["Status"] = entry.Status,
            ["ClientIp"] = entry.ClientIp,
            ["UserAgent"] = Clip(entry.UserAgent),
            ["Method"] = entry.Method,
            ["Path"] = Clip(entry.Path),
            ["At"] = entry.At,
        };

    /// <summary>Entries from <paramref name="since"/> to <paramref name="until"/>, oldest first, optionally of one repository or actor.</summary>
    public async IAsyncEnumerable<AuditEntry> QueryAsync(
        DateTimeOffset since, DateTimeOffset until, string? repository, string? actor, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var day = since.UtcDateTime.Date; day <= until.UtcDateTime.Date; day = day.AddDays(1))
        {
            var partition = Day(day);
            var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and At ge {since} and At le {until}");
            if (repository is not null)
            {
                filter += " and " + TableClient.CreateQueryFilter($"Repository eq {repository}");
            }
            if (actor is not null)
            {
                filter += " and " + TableClient.CreateQueryFilter($"Actor eq {actor}");
            }
            await foreach (var row in clients.Audit.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
            {
                yield return new AuditEntry(
                    row.GetDateTimeOffset("At") ?? default, row.GetString("Actor") ?? "", row.GetString("Action") ?? "",
                    row.GetString("Repository"), row.GetString("Reference"), row.GetInt32("Status") ?? 0,
                    row.GetString("ClientIp"), row.GetString("UserAgent"), row.GetString("Method") ?? "", row.GetString("Path") ?? "");
            }
        }
    }

    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string? Clip(string? text) => text is { Length: > MaxTextLength } ? text[..MaxTextLength] : text;
}
