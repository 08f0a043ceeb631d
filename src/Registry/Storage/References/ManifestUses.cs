using Azure;
using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.References;

/// <summary>
/// A manifest of the repository that still uses a blob or child manifest, as a refused delete names it: a live one, one
/// being pushed, or a soft-deleted one that may still be restored.
/// </summary>
public sealed record ManifestUser(Digest Manifest, bool PushInProgress, bool SoftDeleted = false);

/// <summary>
/// The <c>usedby:&lt;target&gt;:&lt;manifest&gt;</c> rows of a repository partition: which manifests use a blob (as
/// config or layer) or a child manifest (as an index entry). A push writes them, and touches each target's own row,
/// in the transaction that writes the manifest; deletes of a target read them to refuse what is still used, then
/// delete the target only if its ETag is still the one they read before looking. Either the push commits first (its
/// touch changed the ETag: the delete looks again and refuses) or the delete does (the push's touch finds no row and
/// fails). Rows of a deleted manifest stay until a check finds them stale and removes them.
/// </summary>
public sealed class ManifestUses(StorageClients clients, TimeProvider time)
{
    /// <summary>How long a pending row (written ahead of a large manifest's own transaction) counts without its manifest.</summary>
    public static readonly TimeSpan PendingWindow = TimeSpan.FromMinutes(15);

    /// <summary>Enough users for a refusal's message: once found, the rest are not read.</summary>
    private const int MaxUsersNamed = 5;

    /// <summary>The row that says <paramref name="manifest"/> uses <paramref name="target"/>; pending when written ahead of the manifest.</summary>
    public static TableTransactionAction Record(string partition, Digest target, Digest manifest, bool pending) =>
        new(TableTransactionActionType.UpsertReplace, new UsedByEntity
        {
            PartitionKey = partition,
            RowKey = TableKeys.UsedBy(target, manifest),
            Pending = pending,
        });

    /// <summary>
    /// A touch of <paramref name="targetRow"/> (a link or manifest row) that fails the transaction with 404 when the row
    /// is gone, and changes its ETag when not, so a delete that read the row before cannot succeed after this commits.
    /// </summary>
    public TableTransactionAction Touch(string partition, string targetRow) =>
        new(TableTransactionActionType.UpdateMerge, new TableEntity(partition, targetRow) { ["LastReferenced"] = time.GetUtcNow() }, ETag.All);

    /// <summary>
    /// The manifests of the repository that use <paramref name="target"/> now (at most a few, for the message), empty
    /// when none does. A row whose manifest is gone is removed on the way (unless <paramref name="removeStale"/> is false,
    /// as in a dry run), unless it may belong to a push in progress or to a soft-deleted manifest (a <c>deleted:</c> row:
    /// its restore rewrites the row). Every row is read until a user is found: however many rows of deleted manifests
    /// come first, one live user after them keeps the target.
    /// </summary>
    /// <param name="includeSoftDeleted">
    /// Count soft-deleted manifests as users, as garbage collection and retention do (what a restore needs stays). A
    /// client's explicit delete does not: deleting a blob or an index entry a soft-deleted manifest used is allowed, and
    /// its restore then fails for that.
    /// </param>
    public async Task<IReadOnlyList<ManifestUser>> FindUsersAsync(
        RepositoryName repository, Digest target, CancellationToken cancellationToken, bool removeStale = true, bool includeSoftDeleted = true)
    {
        var partition = TableKeys.Repository(repository);
        var prefix = TableKeys.UsersOf(target);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)}");
        var users = new List<ManifestUser>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<UsedByEntity>(filter, 100, cancellationToken: cancellationToken))
        {
            if (users.Count >= MaxUsersNamed)
            {
                break;
            }
            if (Digest.TryParse(row.RowKey[prefix.Length..], out var manifest) != DigestParse.Valid)
            {
                continue;
            }
            var exists = await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(
                partition, TableKeys.Manifest(manifest), ["RowKey"], cancellationToken);
            if (exists.HasValue)
            {
                users.Add(new ManifestUser(manifest, PushInProgress: false));
            }
            else if (row.Pending && row.Timestamp is { } written && time.GetUtcNow() - written < PendingWindow)
            {
                users.Add(new ManifestUser(manifest, PushInProgress: true));
            }
            else if ((await clients.RepositoriesTable.GetEntityIfExistsAsync<TableEntity>(
                partition, TableKeys.Deleted(manifest), ["RowKey"], cancellationToken)).HasValue)
            {
                if (includeSoftDeleted)
                {
                    users.Add(new ManifestUser(manifest, PushInProgress: false, SoftDeleted: true));
                }
            }
            else if (removeStale)
            {
                await RemoveStaleAsync(row, cancellationToken);
            }
        }
        return users;
    }

    private async Task RemoveStaleAsync(UsedByEntity row, CancellationToken cancellationToken)
    {
        try
        {
            await clients.RepositoriesTable.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            // A push wrote the row again since it was read: it is not stale any more.
        }
    }

    /// <summary>Says which manifests still use the target, for a refused delete's message.</summary>
    public static string Describe(IReadOnlyList<ManifestUser> users) =>
        string.Join(", ", users.Select(u => u.PushInProgress ? $"{u.Manifest} (being pushed)"
            : u.SoftDeleted ? $"{u.Manifest} (deleted, still restorable)" : u.Manifest.Value));
}
