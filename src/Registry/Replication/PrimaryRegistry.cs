using Azure.Core.Pipeline;
using Microsoft.Extensions.Options;
using Registry.Oci;
using Registry.Storage;
using Registry.Storage.Blobs;
using Registry.Storage.Manifests;

namespace Registry.Replication;

/// <summary>A manifest as the primary stores it.</summary>
public sealed record PrimaryManifest(Digest Digest, string MediaType, byte[] Content);

/// <summary>
/// What a replica reads of its primary: tags, manifests and blob links from the primary's tables, and read SAS URLs of
/// the primary's blobs for storage to copy from. Reads only (the replica's identity has reader roles there), always
/// from storage: what replication copies must be the primary's current state, never a cached one.
/// </summary>
public sealed class PrimaryRegistry : IDisposable
{
    private readonly Lazy<(StorageClients Clients, SasUrlIssuer Sas)> _primary;
    private readonly TimeProvider _time;

    public PrimaryRegistry(IOptions<ReplicationOptions> options, IOptions<StorageOptions> local, IEnumerable<HttpPipelinePolicy> policies, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(local);
        var primary = options.Value.Primary;
        // A copy source's SAS must outlive the copy of its largest blob, retries included.
        primary.SasLifetime = TimeSpan.FromHours(1);
        var list = policies.ToList();
        _primary = new Lazy<(StorageClients, SasUrlIssuer)>(() =>
        {
            var clients = new StorageClients(Options.Create(primary), list, time);
            return (clients, new SasUrlIssuer(clients, Options.Create(primary), time));
        });
        IsConfigured = options.Value.IsReplica;
        _time = time;
    }

    public bool IsConfigured { get; }

    private StorageClients Clients => IsConfigured
        ? _primary.Value.Clients
        : throw new InvalidOperationException("Replication:Primary is not configured: this instance is no replica");

    /// <summary>The primary's outbox, read for what it has not delivered yet.</summary>
    public Storage.Events.Outbox Outbox => new(Clients, _time);

    /// <summary>The primary's table <c>auth</c> (credentials), read to mirror it.</summary>
    public Azure.Data.Tables.TableClient AuthTable => Clients.AuthTable;

    /// <summary>The digest <paramref name="tag"/> points at in the primary now, or null when it has no such tag.</summary>
    public async Task<Digest?> TagAsync(RepositoryName repository, Tag tag, CancellationToken cancellationToken)
    {
        var row = await Clients.RepositoriesTable.GetEntityIfExistsAsync<TagEntity>(
            TableKeys.Repository(repository), TableKeys.Tag(tag), ["Digest"], cancellationToken);
        return row.HasValue && Digest.TryParse(row.Value!.Digest, out var digest) == DigestParse.Valid ? digest : null;
    }

    /// <summary>The manifest with its bytes (checked against the digest), or null when the primary has no such manifest.</summary>
    public async Task<PrimaryManifest?> ManifestAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        StoredManifest? stored;
        try
        {
            stored = await ManifestStore.ReadAsync(Clients, repository, digest, withContent: true, cancellationToken);
        }
        catch (Azure.RequestFailedException e) when (e.Status == 404)
        {
            return null; // its bytes' blob deleted between the row's read and the blob's
        }
        return stored?.Content is { } content ? new PrimaryManifest(digest, stored.MediaType, content) : null;
    }

    /// <summary>The primary's link of <paramref name="digest"/> in <paramref name="repository"/>, or null when it has none.</summary>
    public async Task<BlobInfo?> LinkAsync(RepositoryName repository, Digest digest, CancellationToken cancellationToken)
    {
        var row = await Clients.RepositoriesTable.GetEntityIfExistsAsync<BlobLinkEntity>(
            TableKeys.Repository(repository), TableKeys.BlobLink(digest), ["Size", "BlobName"], cancellationToken);
        return row.HasValue ? new BlobInfo(digest, row.Value!.Size, row.Value.BlobName) : null;
    }

    /// <summary>The primary's repositories, in name order.</summary>
    public async IAsyncEnumerable<RepositoryName> RepositoriesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var name in new Catalog(Clients, _time).ListAsync(null, int.MaxValue, cancellationToken))
        {
            if (RepositoryName.TryParse(name, out var repository))
            {
                yield return repository;
            }
        }
    }

    /// <summary>Every tag of the primary's <paramref name="repository"/> and where it points (one query).</summary>
    public async Task<Dictionary<Tag, Digest>> TagsAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        (await Storage.Tags.TagStore.ListDetailedAsync(Clients.RepositoriesTable, repository, cancellationToken)).ToDictionary(t => t.Tag, t => t.Digest);

    /// <summary>The digests of the primary's manifests in <paramref name="repository"/>.</summary>
    public IAsyncEnumerable<Digest> ManifestDigestsAsync(RepositoryName repository, CancellationToken cancellationToken) =>
        new RepositoryRows(Clients, new Catalog(Clients, _time)).DigestsAsync(repository, TableKeys.ManifestPrefix, cancellationToken);

    /// <summary>A read SAS URL of one of the primary's blobs, for storage to copy from.</summary>
    public Task<Uri> ReadUrlAsync(string blobName, CancellationToken cancellationToken)
    {
        _ = Clients;
        return _primary.Value.Sas.ReadUrlAsync(blobName, cancellationToken);
    }

    public void Dispose()
    {
        if (_primary.IsValueCreated)
        {
            _primary.Value.Sas.Dispose();
        }
    }
}
