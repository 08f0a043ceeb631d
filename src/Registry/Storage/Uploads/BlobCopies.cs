using Azure;
using Azure.Storage.Blobs.Specialized;
using Registry.Oci;
using Registry.Storage.Blobs;

namespace Registry.Storage.Uploads;

/// <summary>A blob brought in by <see cref="BlobCopies"/>: its link, and whether its bytes were copied (false: this account held them).</summary>
public sealed record CopiedBlob(BlobInfo Blob, bool BytesCopied);

/// <summary>
/// Brings a blob that another storage account holds (the primary region's, for a replica) into this one, server-side:
/// each block is staged by storage itself from the source's read SAS URL (Put Block From URL), so no byte passes
/// through the registry whatever the size. The blocks are committed, recorded and linked as a completed upload's are
/// (the protocol on <see cref="ContentIndex"/>): create-only under a name of its own, stamped with the digest, so a
/// copy that dies half way leaves only uncommitted blocks, which expire, and a retry starts a fresh blob.
///
/// <para>The bytes are not hashed again: the source verified them against the digest when they were pushed, and
/// storage checks each block it copies. The copy's length is checked against the size the source recorded.</para>
/// </summary>
public sealed class BlobCopies(StorageClients clients, ContentIndex content, BlobLinks links)
{
    /// <summary>
    /// Bytes per staged block: well under what one Put Block From URL may copy (4000 MiB), and small enough that a
    /// retried block repeats little; a 1 GiB layer is 11 calls.
    /// </summary>
    public const long CopyBlockSize = 100L * 1024 * 1024;

    /// <summary>
    /// Links <paramref name="digest"/> into <paramref name="repository"/>, copying its bytes from <paramref name="source"/>
    /// unless this account holds them already. Null when the source holds no such blob any more (deleted since the push),
    /// or fewer bytes than <paramref name="size"/>.
    /// </summary>
    public async Task<CopiedBlob?> CopyAsync(RepositoryName repository, Digest digest, long size, Uri source, CancellationToken cancellationToken)
    {
        var entry = await content.FindAsync(digest, cancellationToken);
        if (entry is not null && await content.AddReferenceAsync(digest, repository, cancellationToken))
        {
            return new CopiedBlob(await links.LinkAsync(repository, digest, entry, null, cancellationToken), false);
        }
        var blobName = TableKeys.DataBlobName(Guid.NewGuid().ToString("N"));
        var blob = clients.Container.GetBlockBlobClient(blobName);
        var nonce = BlockList.NewNonce();
        var blockIds = new List<string>();
        try
        {
            for (long offset = 0; offset < size; offset += CopyBlockSize)
            {
                var id = BlockList.BlockId(nonce, blockIds.Count);
                await blob.StageBlockFromUriAsync(source, id, new Azure.Storage.Blobs.Models.StageBlockFromUriOptions
                {
                    SourceRange = new HttpRange(offset, Math.Min(CopyBlockSize, size - offset)),
                }, cancellationToken);
                blockIds.Add(id);
            }
        }
        catch (RequestFailedException e) when (e.Status is 404 or 416)
        {
            // The source is gone or shorter (a 403 is not: missing rights must fail loudly). Nothing was committed; the
            // staged blocks expire.
            return null;
        }
        var commit = await content.CommitBlocksAsync(blobName, blockIds, digest, cancellationToken);
        if (commit != BlobCommit.Created)
        {
            throw new InvalidOperationException($"the new blob {blobName} was committed by someone else ({commit})");
        }
        var committed = await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
        if (committed.Value.ContentLength != size)
        {
            await content.DiscardAsync(blobName);
            return null;
        }
        entry = await content.RecordAsync(digest, blobName, size, repository, commit, cancellationToken);
        return new CopiedBlob(await links.LinkAsync(repository, digest, entry, null, cancellationToken), entry.BlobName == blobName);
    }
}
