using Azure;
using Azure.Data.Tables;
using Registry.Storage;

namespace Registry.Replication;

/// <summary>What one mirroring of the primary's credentials changed.</summary>
public sealed record CredentialMirroring(int Copied, int Removed, int Unchanged, bool SigningKeyDiffers)
{
    public string Summary =>
        $"{Copied} credential rows copied from the primary, {Removed} removed, {Unchanged} unchanged" +
        (SigningKeyDiffers
            ? "; the primary signs tokens with another key than this replica: set the same Auth:SigningKeyPem in every region"
            : "");
}

/// <summary>
/// Keeps a replica's table <c>auth</c> a copy of the primary's: registry tokens (partition <c>token</c>) and anonymous
/// pull rules (partition <c>anonymous</c>), so one login works in every region and a replica keeps authenticating while
/// the primary's region is down. Run every minute by the <c>replicate-credentials</c> job: a token created, changed or
/// revoked at the primary is so within a minute here (plus what the replica's instances cache). Rows the primary no
/// longer has are removed, each conditionally on the ETag read, and a row is written only when it differs. The signing
/// key is not copied (an instance loads it once, at start): every region must be configured with the same
/// <c>Auth:SigningKeyPem</c>, and a run says when the primary's stored key differs from this replica's.
/// </summary>
public sealed class CredentialMirror(PrimaryRegistry primary, StorageClients local)
{
    /// <summary>The partitions of table <c>auth</c> that are copied.</summary>
    public static readonly IReadOnlyList<string> Partitions = ["token", "anonymous"];

    private const string SigningPartition = "~signing";

    public async Task<CredentialMirroring> MirrorAsync(CancellationToken cancellationToken)
    {
        int copied = 0, removed = 0, unchanged = 0;
        foreach (var partition in Partitions)
        {
            var source = await ReadAsync(primary.AuthTable, partition, cancellationToken);
            var target = await ReadAsync(local.AuthTable, partition, cancellationToken);
            foreach (var (key, row) in source)
            {
                if (target.TryGetValue(key, out var existing) && SameProperties(existing, row))
                {
                    unchanged++;
                    continue;
                }
                var copy = new TableEntity(row.PartitionKey, row.RowKey);
                foreach (var (name, value) in Properties(row))
                {
                    copy[name] = value;
                }
                await local.AuthTable.UpsertEntityAsync(copy, TableUpdateMode.Replace, cancellationToken);
                copied++;
            }
            foreach (var (key, row) in target.Where(t => !source.ContainsKey(t.Key)))
            {
                try
                {
                    await local.AuthTable.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
                    removed++;
                }
                catch (RequestFailedException e) when (e.Status is 404 or 412)
                {
                    // Removed or written meanwhile: the next run decides again.
                }
            }
        }
        var primaryKey = (await ReadAsync(primary.AuthTable, SigningPartition, cancellationToken)).Values.FirstOrDefault()?.GetString("Pem");
        var localKey = (await ReadAsync(local.AuthTable, SigningPartition, cancellationToken)).Values.FirstOrDefault()?.GetString("Pem");
        return new CredentialMirroring(copied, removed, unchanged, primaryKey is not null && localKey is not null && primaryKey != localKey);
    }

    private static async Task<Dictionary<string, TableEntity>> ReadAsync(TableClient table, string partition, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, TableEntity>(StringComparer.Ordinal);
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), 1000, cancellationToken: cancellationToken))
        {
            rows[row.RowKey] = row;
        }
        return rows;
    }

    private static IEnumerable<KeyValuePair<string, object>> Properties(TableEntity row) =>
        row.Where(p => p.Key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"));

    private static bool SameProperties(TableEntity a, TableEntity b)
    {
        var left = Properties(a).ToDictionary(p => p.Key, p => p.Value);
        var right = Properties(b).ToList();
        return left.Count == right.Count && right.All(p => left.TryGetValue(p.Key, out var value) && Equals(Normal(value), Normal(p.Value)));
    }

    /// <summary>Values compared as what they say: binary by content, times by instant.</summary>
    private static object? Normal(object? value) => value switch
    {
        byte[] bytes => Convert.ToBase64String(bytes),
        BinaryData data => Convert.ToBase64String(data.ToArray()),
        DateTimeOffset time => time.UtcTicks,
        DateTime time => time.ToUniversalTime().Ticks,
        _ => value,
    };
}
