using Registry.Oci;

namespace Registry.Storage;

/// <summary>
/// The layout of everything the registry stores, and the one place that builds storage keys.
///
/// <para><b>Blob container <c>registry</c></b> (the bytes):</para>
/// <list type="bullet">
/// <item><c>data/&lt;uploadId&gt;</c>: a blob's bytes. Each upload stages blocks under its own name and commits
///   the block list once the digest matched, so the bytes never move or get copied afterwards. Which name holds
///   a digest is recorded in the <c>blobs</c> table. Blocks that are never committed expire after 7 days.</item>
/// <item><c>manifests/&lt;algorithm&gt;/&lt;hex&gt;</c>: a manifest too large to live inline in its Table entity.</item>
/// </list>
///
/// <para><b>Table <c>repositories</c></b> (per-repository state). One partition per repository, so that a
/// manifest, the tag that moves to it, its referrer entry and its event are written in one atomic entity-group
/// transaction. PartitionKey = <see cref="Repository"/>(name). RowKeys:</para>
/// <list type="bullet">
/// <item><c>tag:&lt;tag&gt;</c>: Digest, MediaType, Size and the manifest bytes when small (a GET by tag is one read).</item>
/// <item><c>manifest:&lt;digest&gt;</c>: MediaType, Size, Content (inline ≤ 64 KiB) or ContentBlob, Subject, ArtifactType.</item>
/// <item><c>blob:&lt;digest&gt;</c>: Size, BlobName: this repository may read this blob (a "link").</item>
/// <item><c>upload:&lt;uploadId&gt;</c>: an upload session: BlobName, Offset, HashState (SHA-256 context), Segments (block list).</item>
/// <item><c>referrer:&lt;subject digest&gt;:&lt;digest&gt;</c>: a manifest whose <c>subject</c> is that digest.</item>
/// <item><c>event:&lt;19-digit ticks&gt;:&lt;id&gt;</c>: the outbox: one row per push or delete, written in the same
///   transaction as the change; the events feature publishes and removes them.</item>
/// </list>
/// <para>PartitionKey <c>~catalog</c>, RowKey = <see cref="Repository"/>(name): the repository list
/// (<c>~</c> can start no repository name).</para>
///
/// <para><b>Table <c>blobs</c></b> (the global content index). PartitionKey = the digest. RowKeys:</para>
/// <list type="bullet">
/// <item><c>content</c>: BlobName, Size: the committed blob that holds this digest's bytes. Inserted create-only,
///   after the commit, so two identical uploads race safely.</item>
/// <item><c>ref:&lt;repository key&gt;</c>: the repository links this digest. Written before the link and removed
///   after it, so garbage collection can find unreferenced content by reading this partition alone.</item>
/// </list>
///
/// <para>Table keys cannot hold <c>/ \ # ?</c> or control characters. Digests, tags and the fixed prefixes never
/// do; repository names contain <c>/</c>, which <see cref="Repository"/> spells <c>.~</c>. That spelling keeps
/// the keys in the same order as the names (so the catalog pages in lexical order) and cannot collide, since
/// <c>~</c> is not allowed in names.</para>
/// </summary>
public static class TableKeys
{
    public const string CatalogPartition = "~catalog";
    public const string ContentRow = "content";

    public const string TagPrefix = "tag:";
    public const string ManifestPrefix = "manifest:";
    public const string BlobLinkPrefix = "blob:";
    public const string UploadPrefix = "upload:";
    public const string ReferrerPrefix = "referrer:";
    public const string EventPrefix = "event:";
    public const string RefPrefix = "ref:";

    public static string Repository(RepositoryName name) => name.Value.Replace("/", ".~", StringComparison.Ordinal);

    public static string RepositoryFromKey(string key) => key.Replace(".~", "/", StringComparison.Ordinal);

    public static string Tag(Tag tag) => TagPrefix + tag.Value;

    public static string Manifest(Digest digest) => ManifestPrefix + digest.Value;

    public static string BlobLink(Digest digest) => BlobLinkPrefix + digest.Value;

    public static string Upload(string uploadId) => UploadPrefix + uploadId;

    public static string ReferrersOf(Digest subject) => ReferrerPrefix + subject.Value + ":";

    public static string Referrer(Digest subject, Digest digest) => ReferrersOf(subject) + digest.Value;

    public static string Event(DateTimeOffset at, string id) => $"{EventPrefix}{at.UtcTicks:D19}:{id}";

    public static string Content(Digest digest) => digest.Value;

    public static string RepositoryRef(RepositoryName name) => RefPrefix + Repository(name);

    public static string DataBlobName(string uploadId) => "data/" + uploadId;

    public static string ManifestBlobName(Digest digest) => $"manifests/{digest.Algorithm}/{digest.Hex}";

    /// <summary>The smallest key greater than every key that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}
