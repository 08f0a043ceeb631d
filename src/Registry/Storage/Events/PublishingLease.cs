using Azure;

namespace Registry.Storage.Events;

/// <summary>
/// A publisher's hold on a repository partition's <c>lease:events</c> row: the ETag of its own last write of it, so
/// renewing and giving it up are conditional writes with no read first, and fail once another publisher took it over.
/// </summary>
public sealed class PublishingLease(string partition, string owner, ETag etag, DateTimeOffset until)
{
    public string Partition { get; } = partition;

    public string Owner { get; } = owner;

    public ETag ETag { get; private set; } = etag;

    public DateTimeOffset Until { get; private set; } = until;

    internal void Extend(ETag etag, DateTimeOffset until) => (ETag, Until) = (etag, until);
}
