using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Specialized;
using Registry.Diagnostics;
using Registry.Hashing;
using Registry.Oci;
using Registry.Storage.Blobs;
using Registry.Storage.Quotas;

namespace Registry.Storage.Uploads;

/// <summary>
/// Blob uploads: sessions that live in Table (so any instance can continue any upload), bytes staged as blocks
/// of the session's own blob, and a commit that happens only once the whole content hashed to the digest the
/// client named. Until then nothing about the blob is visible to pulls.
/// </summary>
public sealed class BlobUploads(
    StorageClients clients, ContentIndex content, BlobLinks links, RegistryMetrics metrics, TimeProvider time, StagingBuffers buffers, QuotaAdmission quotas)
{
    /// <summary>Sessions older than this are unknown: Blob storage drops uncommitted blocks after 7 days.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromDays(6);

    /// <summary>What an upload refused for want of staging memory is told to wait: blocks come free as other uploads finish or stall out.</summary>
    public static readonly TimeSpan StagingFullRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Opens an empty upload session in <paramref name="repository"/>.</summary>
    public async Task<UploadEntity> StartAsync(RepositoryName repository, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var session = new UploadEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Upload(id),
            BlobName = TableKeys.DataBlobName(id),
            HashState = new ResumableSha256().SaveState(),
            Created = time.GetUtcNow(),
        };
        var response = await clients.RepositoriesTable.AddEntityAsync(session, cancellationToken);
        session.ETag = response.Headers.ETag ?? default;
        return session;
    }

    /// <summary>The id a client names <paramref name="session"/> by (in its Location).</summary>
    public static string IdOf(UploadEntity session) => session.RowKey[TableKeys.UploadPrefix.Length..];

    /// <summary>The session, or null when the id is malformed, unknown in this repository, or expired.</summary>
    public async Task<UploadEntity?> FindAsync(RepositoryName repository, string uploadId, CancellationToken cancellationToken)
    {
        if (!IsUploadId(uploadId))
        {
            return null;
        }
        var response = await clients.RepositoriesTable.GetEntityIfExistsAsync<UploadEntity>(
            TableKeys.Repository(repository), TableKeys.Upload(uploadId), cancellationToken: cancellationToken);
        if (!response.HasValue || time.GetUtcNow() - response.Value!.Created > SessionLifetime)
        {
            return null;
        }
        return response.Value;
    }

    /// <summary>
    /// Stages <paramref name="body"/> at the session's offset and records it. On any failure the session is left
    /// as it was: the offset never counts bytes that are not durably staged.
    /// </summary>
    public async Task<Outcome<UploadEntity>> AppendAsync(
        UploadEntity session, Stream body, long? declaredLength, CancellationToken cancellationToken)
    {
        if (BlockList.ChunkCount(session.Segments) >= BlockList.MaxChunks)
        {
            return new OciError(Failure.BlobUploadInvalid,
                $"an upload may have at most {BlockList.MaxChunks} chunks; complete it or start again with larger chunks");
        }
        var hash = ResumableSha256.Restore(session.HashState);
        if (hash is null)
        {
            return new OciError(Failure.BlobUploadInvalid, "the upload's hash state is corrupt; start the upload again");
        }
        var staged = await StageAsync(session.BlobName, body, hash, BlockList.MaxBlocks - BlockList.BlockCount(session.Segments), cancellationToken);
        if (!staged.Succeeded)
        {
            return staged.Error;
        }
        if (declaredLength is { } expected && staged.Value.Length != expected)
        {
            return new OciError(Failure.SizeInvalid, $"received {staged.Value.Length} bytes, Content-Length/Content-Range said {expected}");
        }
        if (staged.Value.BlockCount == 0)
        {
            return session;
        }
        session.Offset += staged.Value.Length;
        session.HashState = hash.SaveState();
        session.Segments = BlockList.Append(session.Segments, staged.Value.Nonce, staged.Value.BlockCount);
        try
        {
            var response = await clients.RepositoriesTable.UpdateEntityAsync(session, session.ETag, TableUpdateMode.Replace, CancellationToken.None);
            session.ETag = response.Headers.ETag ?? default;
            return session;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return new OciError(Failure.UploadOutOfOrder, "another request changed this upload at the same time; resume from the reported range");
        }
    }

    /// <summary>
    /// Verifies the staged content against <paramref name="digest"/>, commits it and links it into the repository.
    /// Idempotent under retries: of several requests completing one session at once, each gets 201 for the digest
    /// that matches, or an error; none removes what another acknowledged (the protocol is on <see cref="ContentIndex"/>).
    /// </summary>
    public async Task<Outcome<BlobInfo>> CompleteAsync(
        RepositoryName repository, UploadEntity session, Digest digest, CancellationToken cancellationToken)
    {
        var hash = ResumableSha256.Restore(session.HashState);
        if (hash is null || hash.Length != session.Offset)
        {
            return new OciError(Failure.BlobUploadInvalid, "the upload's hash state is corrupt; start the upload again");
        }
        if (digest.Algorithm == Digest.Sha256 && hash.CurrentDigest() is var sha256 && sha256 != digest)
        {
            // Nothing was committed: the staged blocks expire with the session.
            await CancelAsync(session, cancellationToken);
            return new OciError(Failure.DigestInvalid, $"the uploaded content has digest {sha256}, not {digest}; the upload was discarded");
        }
        // Refused over quota before anything is committed: the session stays, to complete once there is room.
        if ((await quotas.AdmitBlobAsync(repository, digest, session.Offset, cancellationToken)).Error is { } overQuota)
        {
            return overQuota;
        }
        var entry = await content.FindAsync(digest, cancellationToken);
        if (entry is not null && await content.AddReferenceAsync(digest, repository, cancellationToken))
        {
            return await links.LinkAsync(repository, digest, entry, session, cancellationToken);
        }
        var commit = await content.CommitBlocksAsync(session.BlobName, BlockList.BlockIds(session.Segments), digest, cancellationToken);
        switch (commit)
        {
            case BlobCommit.ClaimedByOther:
                return new OciError(Failure.BlobUploadInvalid, "another request completed this upload for a different digest; start a new upload");
            case BlobCommit.BlocksGone:
                return new OciError(Failure.BlobUploadUnknown, "another request completed or discarded this upload meanwhile; start a new upload");
        }
        if (digest.Algorithm != Digest.Sha256)
        {
            // Only the SHA-256 state travels between requests; another algorithm is checked by reading the committed
            // blob back before anything points at it.
            var actual = await HashBlobAsync(session.BlobName, digest.Algorithm, cancellationToken);
            if (actual != digest)
            {
                if (commit == BlobCommit.Created)
                {
                    await content.DiscardAsync(session.BlobName);
                }
                await CancelAsync(session, cancellationToken);
                return new OciError(Failure.DigestInvalid, $"the uploaded content has digest {actual}, not {digest}; the upload was discarded");
            }
        }
        entry = await content.RecordAsync(digest, session.BlobName, session.Offset, repository, commit, cancellationToken);
        return await links.LinkAsync(repository, digest, entry, session, cancellationToken);
    }

    /// <summary>A whole blob in one request (POST or PUT with <c>?digest=</c>): no session is ever recorded.</summary>
    public async Task<Outcome<BlobInfo>> UploadWholeAsync(
        RepositoryName repository, Digest digest, Stream body, long? declaredLength, CancellationToken cancellationToken)
    {
        var blobName = TableKeys.DataBlobName(Guid.NewGuid().ToString("N"));
        using var hash = new OneShotHash(digest.Algorithm);
        var staged = await StageAsync(blobName, body, hash, BlockList.MaxBlocks, cancellationToken);
        if (!staged.Succeeded)
        {
            return staged.Error;
        }
        if (declaredLength is { } expected && staged.Value.Length != expected)
        {
            return new OciError(Failure.SizeInvalid, $"received {staged.Value.Length} bytes, Content-Length said {expected}");
        }
        var actual = hash.CurrentDigest();
        if (actual != digest)
        {
            return new OciError(Failure.DigestInvalid, $"the uploaded content has digest {actual}, not {digest}");
        }
        if ((await quotas.AdmitBlobAsync(repository, digest, staged.Value.Length, cancellationToken)).Error is { } overQuota)
        {
            return overQuota;
        }
        var entry = await content.FindAsync(digest, cancellationToken);
        if (entry is null || !await content.AddReferenceAsync(digest, repository, cancellationToken))
        {
            // Not stored yet, or collected since it was found. The blob name is this request's own, so its commit
            // always creates it.
            var blockIds = BlockList.BlockIds(BlockList.Append([], staged.Value.Nonce, staged.Value.BlockCount));
            var commit = await content.CommitBlocksAsync(blobName, blockIds, digest, cancellationToken);
            if (commit != BlobCommit.Created)
            {
                throw new InvalidOperationException($"the new blob {blobName} was committed by someone else ({commit})");
            }
            entry = await content.RecordAsync(digest, blobName, staged.Value.Length, repository, commit, cancellationToken);
        }
        return await links.LinkAsync(repository, digest, entry, null, cancellationToken);
    }

    /// <summary>
    /// Removes every session older than <see cref="SessionLifetime"/> and counts the rest. Staged blocks expire by
    /// themselves; a blob that a completion committed but never recorded (the request died in between, and no retry
    /// came) is deleted here, unless the content index names it. This scans the upload rows of every repository
    /// partition (server-side filtered, keys, blob name and <c>Created</c> only), which suits an hourly job; a session
    /// that a request is using is never old enough, and an expired one can no longer be completed.
    /// </summary>
    public async Task<UploadSweep> SweepExpiredAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - SessionLifetime;
        var filter = TableClient.CreateQueryFilter(
            $"RowKey ge {TableKeys.UploadPrefix} and RowKey lt {TableKeys.PrefixEnd(TableKeys.UploadPrefix)}");
        int open = 0, removed = 0;
        await foreach (var row in clients.RepositoriesTable.QueryAsync<TableEntity>(
            filter, 1000, ["PartitionKey", "RowKey", "Created", nameof(UploadEntity.BlobName)], cancellationToken))
        {
            if (row.GetDateTimeOffset("Created") is { } created && created >= cutoff)
            {
                open++;
                continue;
            }
            if (row.GetString(nameof(UploadEntity.BlobName)) is { Length: > 0 } blobName)
            {
                await DeleteUnrecordedAsync(blobName, cancellationToken);
            }
            var response = await clients.RepositoriesTable.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken);
            if (response.Status != 404)
            {
                removed++;
            }
        }
        return new UploadSweep(open, removed);
    }

    private async Task DeleteUnrecordedAsync(string blobName, CancellationToken cancellationToken)
    {
        var blob = clients.Container.GetBlobClient(blobName);
        Azure.Storage.Blobs.Models.BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return; // never committed: its blocks expire
        }
        if (properties.Metadata.TryGetValue(ContentIndex.DigestMetadata, out var text)
            && Digest.TryParse(text, out var digest) == DigestParse.Valid
            && await content.FindAsync(digest, cancellationToken) is { } entry
            && entry.BlobName == blobName)
        {
            return;
        }
        await blob.DeleteIfExistsAsync(conditions: new Azure.Storage.Blobs.Models.BlobRequestConditions { IfMatch = properties.ETag },
            cancellationToken: cancellationToken);
    }

    /// <summary>Forgets the session; its staged blocks expire uncommitted.</summary>
    public async Task CancelAsync(UploadEntity session, CancellationToken cancellationToken) =>
        await clients.RepositoriesTable.DeleteEntityAsync(session.PartitionKey, session.RowKey, ETag.All, cancellationToken);

    private async Task<Digest> HashBlobAsync(string blobName, string algorithm, CancellationToken cancellationToken)
    {
        using var hash = new OneShotHash(algorithm);
        await using var stream = await clients.Container.GetBlobClient(blobName).OpenReadAsync(
            new Azure.Storage.Blobs.Models.BlobOpenReadOptions(allowModifications: false) { BufferSize = BlockStager.BlockSize }, cancellationToken);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return hash.CurrentDigest();
    }

    private async Task<Outcome<StagedChunk>> StageAsync(
        string blobName, Stream body, IContentHash hash, int blocksAvailable, CancellationToken cancellationToken)
    {
        try
        {
            var staged = await BlockStager.StageAsync(buffers, clients.Container.GetBlockBlobClient(blobName), body, hash, blocksAvailable, cancellationToken);
            metrics.RecordBytesAccepted(staged.Length);
            return staged;
        }
        catch (BlockLimitExceededException e)
        {
            return new OciError(Failure.BlobUploadInvalid, e.Message);
        }
        catch (StagingMemoryFullException e)
        {
            return new OciError(Failure.TooManyRequests, $"{e.Message}; retry in {StagingFullRetryAfter.TotalSeconds} s")
            {
                RetryAfter = StagingFullRetryAfter,
            };
        }
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    private static bool IsUploadId(string id) => id.Length == 32 && !id.AsSpan().ContainsAnyExcept(LowerHex);
}

/// <summary>What an upload-cleanup sweep found: sessions still open, and expired sessions it removed.</summary>
public sealed record UploadSweep(int Open, int Removed);
