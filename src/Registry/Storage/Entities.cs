using Azure;
using Azure.Data.Tables;

namespace Registry.Storage;

// The Table entities, one narrow class per row kind. TableKeys documents which row holds which.

/// <summary>Common key, timestamp and ETag plumbing for every entity.</summary>
public abstract class RegistryEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
}

/// <summary><c>tag:&lt;tag&gt;</c>: where a tag points, with the manifest bytes when they fit inline.</summary>
public sealed class TagEntity : RegistryEntity
{
    public string Digest { get; set; } = "";
    public string MediaType { get; set; } = "";
    public long Size { get; set; }
    /// <summary>The manifest bytes (≤ 64 KiB), or null when they live in a blob.</summary>
    public byte[]? Content { get; set; }
    /// <summary>True: the tag can be neither moved nor deleted (<c>registry-admin lock</c>). Null, not false, when unlocked.</summary>
    public bool? Locked { get; set; }
}

/// <summary><c>taghistory:&lt;tag&gt;:&lt;inverted ticks&gt;:&lt;id&gt;</c>: one move of a tag.</summary>
public sealed class TagHistoryEntity : RegistryEntity
{
    /// <summary>Where the tag points after the move; empty when the move deleted it.</summary>
    public string Digest { get; set; } = "";
    /// <summary>Where it pointed before; empty when the move created it.</summary>
    public string Previous { get; set; } = "";
    /// <summary><c>push</c>, <c>delete</c> or <c>rollback</c>.</summary>
    public string Action { get; set; } = "";
    public string? Actor { get; set; }
    public DateTimeOffset At { get; set; }
}

/// <summary><c>manifest:&lt;digest&gt;</c>: a manifest of this repository.</summary>
public sealed class ManifestEntity : RegistryEntity
{
    public string MediaType { get; set; } = "";
    public long Size { get; set; }
    public byte[]? Content { get; set; }
    /// <summary>Blob name holding the bytes when they are over the inline limit.</summary>
    public string? ContentBlob { get; set; }
    public string? Subject { get; set; }
    public string? ArtifactType { get; set; }
    public DateTimeOffset Created { get; set; }
    /// <summary>
    /// True: the manifest cannot be deleted (<c>registry-admin lock</c>). Null, not false, when unlocked, so a push of
    /// the same manifest (a merge) leaves a lock in place.
    /// </summary>
    public bool? Locked { get; set; }
}

/// <summary><c>referrer:&lt;subject&gt;:&lt;digest&gt;</c>: a manifest that refers to the subject.</summary>
public sealed class ReferrerEntity : RegistryEntity
{
    public string Digest { get; set; } = "";
    public string MediaType { get; set; } = "";
    public long Size { get; set; }
    public string? ArtifactType { get; set; }
    public string? Annotations { get; set; }
}

/// <summary><c>blob:&lt;digest&gt;</c>: the repository may read this blob.</summary>
public sealed class BlobLinkEntity : RegistryEntity
{
    public long Size { get; set; }
    public string BlobName { get; set; } = "";
}

/// <summary><c>usedby:&lt;target&gt;:&lt;manifest&gt;</c>: the manifest uses the target blob or child manifest.</summary>
public sealed class UsedByEntity : RegistryEntity
{
    /// <summary>Written ahead of the manifest's own transaction (a manifest with too many references for one).</summary>
    public bool Pending { get; set; }
}

/// <summary><c>review:…</c>: something that may have become garbage (see <see cref="Reviews.GarbageReviews"/>).</summary>
public sealed class ReviewEntity : RegistryEntity
{
    /// <summary>A deleted manifest's media type, bytes (inline) or the blob that holds them: what it used is read from them.</summary>
    public string? MediaType { get; set; }
    public byte[]? Content { get; set; }
    public string? ContentBlob { get; set; }
    /// <summary>On a deleted manifest's review that a soft-delete window put off: when the manifest was deleted.</summary>
    public DateTimeOffset? Deleted { get; set; }
}

/// <summary><c>deleted:&lt;digest&gt;</c>: a soft-deleted manifest, restorable until <see cref="Until"/>.</summary>
public sealed class DeletedManifestEntity : RegistryEntity
{
    public string MediaType { get; set; } = "";
    public long Size { get; set; }
    /// <summary>The row key of the manifest's <c>review:manifest:</c> row, which holds its bytes.</summary>
    public string Review { get; set; } = "";
    /// <summary>The tags the delete removed with it, space-separated.</summary>
    public string Tags { get; set; } = "";
    public string? Actor { get; set; }
    public DateTimeOffset DeletedAt { get; set; }
    public DateTimeOffset Until { get; set; }
}

/// <summary><c>upload:&lt;id&gt;</c>: an upload in progress.</summary>
public sealed class UploadEntity : RegistryEntity
{
    public string BlobName { get; set; } = "";
    /// <summary>Bytes durably staged so far.</summary>
    public long Offset { get; set; }
    /// <summary>The SHA-256 context after <see cref="Offset"/> bytes.</summary>
    public byte[] HashState { get; set; } = [];
    /// <summary>The staged block list, see <see cref="Uploads.BlockList"/>.</summary>
    public byte[] Segments { get; set; } = [];
    public DateTimeOffset Created { get; set; }
}

/// <summary><c>event:&lt;ticks&gt;:&lt;id&gt;</c>: a change waiting to be published.</summary>
public sealed class EventEntity : RegistryEntity
{
    public string Id { get; set; } = "";
    public string Action { get; set; } = "";
    public string Repository { get; set; } = "";
    public string? Digest { get; set; }
    public string? Tag { get; set; }
    public string? MediaType { get; set; }
    public long Size { get; set; }
    /// <summary>The manifest's artifact type (its config's media type when it has none): what tells a Helm chart.</summary>
    public string? ArtifactType { get; set; }
    public DateTimeOffset OccurredOn { get; set; }
    public string? Actor { get; set; }
    public string? RequestId { get; set; }
    public string? Host { get; set; }
    public string? Method { get; set; }
    public string? UserAgent { get; set; }
    /// <summary>Failed publishing attempts so far, and why the last one failed.</summary>
    public int Attempts { get; set; }
    public string? LastError { get; set; }
    /// <summary>On <c>sent:</c> rows, when the event was acknowledged; on <c>dead:</c> rows, when it was given up.</summary>
    public DateTimeOffset? SettledOn { get; set; }
}

/// <summary><c>~catalog</c> partition: a repository exists.</summary>
public sealed class CatalogEntity : RegistryEntity
{
    public DateTimeOffset Created { get; set; }
}

/// <summary>Table <c>blobs</c>, row <c>content</c>: the committed blob that holds a digest's bytes.</summary>
public sealed class ContentEntity : RegistryEntity
{
    public string BlobName { get; set; } = "";
    public long Size { get; set; }
    public DateTimeOffset Created { get; set; }
}

/// <summary>Table <c>blobs</c>, row <c>ref:&lt;repository&gt;</c>: a repository links the digest.</summary>
public sealed class ContentRefEntity : RegistryEntity
{
    public DateTimeOffset Created { get; set; }
}
