using System.Globalization;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using Registry.Storage;

namespace Registry.Storage.Audit;

/// <summary>One audited event: who did what to which repository, from where, with what result.</summary>
public sealed record AuditEntry(
    DateTimeOffset At, string Actor, string Action, string? Repository, string? Reference, int Status,
    string? ClientIp, string? UserAgent, string Method, string Path);

/// <summary>
/// Audit rows of one UTC day, at most <see cref="AuditLog.MaxPerBatch"/>, with their keys chosen once
/// (<see cref="AuditLog.Batches"/>): a batch written again after a failure is the same rows, so one that storage took
/// although its answer was lost is never stored twice.
/// </summary>
public sealed class AuditBatch
{
    internal AuditBatch(IReadOnlyList<TableTransactionAction> rows) => Rows = rows;

    internal IReadOnlyList<TableTransactionAction> Rows { get; }

    public int Count => Rows.Count;
}

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
        await clients.AuditTable.AddEntityAsync(Row(entry), cancellationToken);
    }

    /// <summary>The most rows one <see cref="AuditBatch"/> holds: the Table limit of an entity-group transaction.</summary>
    public const int MaxPerBatch = 100;

    /// <summary>Groups <paramref name="entries"/> into batches of one UTC day and at most <see cref="MaxPerBatch"/> rows, in their order.</summary>
    public static IEnumerable<AuditBatch> Batches(IEnumerable<AuditEntry> entries) =>
        entries.GroupBy(e => Day(e.At))
            .SelectMany(day => day.Chunk(MaxPerBatch))
            .Select(chunk => new AuditBatch([.. chunk.Select(e => new TableTransactionAction(TableTransactionActionType.Add, Row(e)))]));

    /// <summary>
    /// Inserts <paramref name="batch"/> in one entity-group transaction: all its rows or none. True when this call
    /// stored it; false when it was stored before (an earlier write of the same batch whose answer was lost: 409).
    /// </summary>
    public async Task<bool> WriteAsync(AuditBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        try
        {
            await clients.AuditTable.SubmitTransactionAsync(batch.Rows, cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes <paramref name="entries"/> in <see cref="Batches"/>, carrying on past a batch storage refuses (a job's
    /// record of what it did must not stop the job); returns how many entries could not be written, and the last failure.
    /// </summary>
    public async Task<(int Failed, RequestFailedException? Last)> WriteAllAsync(IEnumerable<AuditEntry> entries, CancellationToken cancellationToken)
    {
        var (failed, last) = (0, (RequestFailedException?)null);
        foreach (var batch in Batches(entries))
        {
            try
            {
                await WriteAsync(batch, cancellationToken);
            }
            catch (RequestFailedException e)
            {
                (failed, last) = (failed + batch.Count, e);
            }
        }
        return (failed, last);
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
            await foreach (var row in clients.AuditTable.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
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
