namespace Registry.Replication;

/// <summary>What applying one event changed in the replica, and what it left because the primary no longer has it.</summary>
public sealed class ReplicationResult
{
    private int _blobsCopied;
    private int _blobsLinked;

    public int ManifestsWritten { get; internal set; }

    /// <summary>Blobs whose bytes storage copied from the primary.</summary>
    public int BlobsCopied => _blobsCopied;

    /// <summary>Blobs the replica held already (for another repository) and only linked.</summary>
    public int BlobsLinked => _blobsLinked;

    public int TagsRemoved { get; internal set; }

    public int ManifestsDeleted { get; internal set; }

    /// <summary>What was not written, and why: gone at the primary since the event, or refused by the replica (a lock).</summary>
    public List<string> Skipped { get; } = [];

    internal void CountBlob(bool copied)
    {
        if (copied)
        {
            Interlocked.Increment(ref _blobsCopied);
        }
        else
        {
            Interlocked.Increment(ref _blobsLinked);
        }
    }

    public string Summary() =>
        $"{ManifestsWritten} manifests written, {BlobsCopied} blobs copied, {BlobsLinked} linked, {TagsRemoved} tags and {ManifestsDeleted} manifests removed" +
        (Skipped.Count == 0 ? "" : "; skipped: " + string.Join("; ", Skipped));
}

/// <summary>An event that cannot be applied yet (the primary kept changing, or the replica refused for now): retry it later.</summary>
public sealed class ReplicationDeferredException(string message) : Exception(message);
