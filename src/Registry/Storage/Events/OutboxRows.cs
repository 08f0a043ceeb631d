using Azure.Data.Tables;
using Registry.Oci;

namespace Registry.Storage.Events;

/// <summary>What an outbox row records: the kind of change.</summary>
public static class OutboxActions
{
    public const string Push = "push";
    public const string Delete = "delete";
    public const string Untag = "untag";
}

/// <summary>
/// The outbox (<c>event:</c> rows of a repository partition): one row per change, added in the same transaction as
/// the change, so a change and its event cannot disagree.
/// </summary>
public static class OutboxRows
{
    /// <summary>The row that records a change to <paramref name="digest"/> (and <paramref name="tag"/>) in <paramref name="repository"/>.</summary>
    public static TableTransactionAction Record(
        RepositoryName repository, string action, Digest digest, Tag? tag, string mediaType, long size, DateTimeOffset now) =>
        new(TableTransactionActionType.Add, new EventEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Event(now, Guid.NewGuid().ToString("N")),
            Action = action,
            Repository = repository.Value,
            Digest = digest.Value,
            Tag = tag?.Value,
            MediaType = mediaType,
            Size = size,
            OccurredOn = now,
        });
}
