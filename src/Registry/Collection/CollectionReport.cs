using Registry.Oci;

namespace Registry.Collection;

/// <summary>What the collector deletes: a repository's blob link, a manifest, the bytes of a large manifest, or a digest's content.</summary>
public enum CollectedKind
{
    Link,
    Manifest,
    ManifestBytes,
    Content,
}

/// <summary>One deletion (or, in a dry run, one that a run would make now), with why.</summary>
public sealed record CollectedItem(CollectedKind Kind, string? Repository, Digest Digest, long Size, string Reason);

/// <summary>What a collection run did: the reviews it took up and what it deleted.</summary>
public sealed class CollectionReport
{
    private readonly List<CollectedItem> _items = [];

    public bool DryRun { get; init; }

    public int ReviewsExamined { get; set; }

    public IReadOnlyList<CollectedItem> Items => _items;

    /// <summary>Bytes of content (layers, configs) deleted from Blob storage.</summary>
    public long BytesFreed => _items.Where(i => i.Kind is CollectedKind.Content or CollectedKind.ManifestBytes).Sum(i => i.Size);

    public void Add(CollectedItem item) => _items.Add(item);

    public int Count(CollectedKind kind) => _items.Count(i => i.Kind == kind);

    public string Summary =>
        $"{(DryRun ? "would delete" : "deleted")} {Count(CollectedKind.Link)} blob links, {Count(CollectedKind.Manifest)} manifests, "
        + $"{Count(CollectedKind.Content) + Count(CollectedKind.ManifestBytes)} blobs ({BytesFreed} bytes); {ReviewsExamined} reviews examined";
}
