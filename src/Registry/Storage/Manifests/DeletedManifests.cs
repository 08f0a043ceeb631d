using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using Registry.Oci;
using Registry.Storage.Events;

namespace Registry.Storage.Manifests;

/// <summary>A soft-deleted manifest as its <c>deleted:</c> row has it: what it was, which tags went with it, until when it may come back.</summary>
public sealed record DeletedManifest(
    Digest Digest, string MediaType, long Size, string ReviewRow, IReadOnlyList<Tag> Tags, string? Actor, DateTimeOffset DeletedAt, DateTimeOffset Until, ETag ETag);

/// <summary>
/// The <c>deleted:&lt;digest&gt;</c> rows of a repository partition: manifests deleted within the soft-delete window
/// (<see cref="SoftDeleteOptions.SoftDeleteWindow"/>). The row is written in the delete's transaction, next to the
/// manifest's review, whose key is put off to the window's end; while it exists, garbage collection counts the
/// manifest as a user of what it used (<see cref="References.ManifestUses"/>). It is removed by a restore (in the
/// transaction that writes the manifest back) or by the collector taking up the review, before it collects anything:
/// whichever removes it first, conditionally on the ETag read, wins (see <see cref="TableKeys"/>, "Soft delete").
/// </summary>
public sealed class DeletedManifests(StorageClients clients, IOptions<SoftDeleteOptions> options, TimeProvider time)
{
    /// <summary>Most characters of tag names one row records (a property holds 32 Ki); tags past them are not restored with it.</summary>
    private const int MaxTagCharacters = 30_000;

    /// <summary>How long a deletion stays restorable; zero: soft delete is off.</summary>
    public TimeSpan Window => options.Value.SoftDeleteWindow;

    /// <summary>The row that makes a deleted manifest restorable, for the delete's transaction (with its <paramref name="review"/>).</summary>
    public TableTransactionAction Record(
        RepositoryName repository, Digest digest, string mediaType, long size, TableTransactionAction review, IEnumerable<Tag> tags, ChangeOrigin origin)
    {
        var now = time.GetUtcNow();
        var names = new List<string>();
        var length = 0;
        foreach (var tag in tags)
        {
            length += tag.Value.Length + 1;
            if (length > MaxTagCharacters)
            {
                break;
            }
            names.Add(tag.Value);
        }
        return new(TableTransactionActionType.UpsertReplace, new DeletedManifestEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Deleted(digest),
            MediaType = mediaType,
            Size = size,
            Review = review.Entity.RowKey,
            Tags = string.Join(' ', names),
            Actor = origin.Actor,
            DeletedAt = now,
            Until = now + Window,
        });
    }

    /// <summary>
    /// Until when <paramref name="manifest"/> may be restored: the window its delete recorded, shortened to the one set now
    /// (so lowering the setting, or turning soft delete off, applies to what was deleted before).
    /// </summary>
    public DateTimeOffset RestorableUntil(DeletedManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var shortened = manifest.DeletedAt + Window;
        return shortened < manifest.Until ? shortened : manifest.Until;
    }

    /// <summary>The soft-deleted manifest, or null when the repository has none under that digest (never deleted, or collected).</summary>
    public async Task<DeletedManifest?> FindAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var row = await clients.RepositoriesTable.GetEntityIfExistsAsync<DeletedManifestEntity>(
            TableKeys.Repository(repository), TableKeys.Deleted(digest), cancellationToken: cancellationToken);
        return row.HasValue ? ToRecord(digest, row.Value!) : null;
    }

    /// <summary>Every soft-deleted manifest of the repository (one query; admin work).</summary>
    public async Task<List<DeletedManifest>> ListAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {TableKeys.Repository(repository)} and RowKey ge {TableKeys.DeletedPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.DeletedPrefix)}");
        var result = new List<DeletedManifest>();
        await foreach (var row in clients.RepositoriesTable.QueryAsync<DeletedManifestEntity>(filter, 1000, cancellationToken: cancellationToken))
        {
            if (Digest.TryParse(row.RowKey[TableKeys.DeletedPrefix.Length..], out var digest) == DigestParse.Valid)
            {
                result.Add(ToRecord(digest, row));
            }
        }
        return result;
    }

    /// <summary>
    /// The collector's step before it acts on <paramref name="reviewRow"/>: removes the manifest's <c>deleted:</c> row if
    /// that review's delete wrote it, so no restore can succeed afterwards. True when it removed it; false when there was
    /// none of that review (a restore removed it first, a later delete replaced it, or soft delete was off).
    /// </summary>
    public async Task<bool> EndAsync(RepositoryName repository, Digest digest, string reviewRow, CancellationToken cancellationToken)
    {
        if (await FindAsync(repository, digest, cancellationToken) is not { } deleted || deleted.ReviewRow != reviewRow)
        {
            return false;
        }
        try
        {
            await clients.RepositoriesTable.DeleteEntityAsync(TableKeys.Repository(repository), TableKeys.Deleted(digest), deleted.ETag, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 404 or 412)
        {
            return false;
        }
    }

    private static IEnumerable<Tag> Tags(string names)
    {
        foreach (var name in names.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Tag.TryParse(name, out var tag))
            {
                yield return tag;
            }
        }
    }

    private static DeletedManifest ToRecord(Digest digest, DeletedManifestEntity row) =>
        new(digest, row.MediaType, row.Size, row.Review,
            [.. Tags(row.Tags)],
            row.Actor, row.DeletedAt, row.Until, row.ETag);
}
