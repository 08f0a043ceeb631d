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
/// Who made a change and through which request, as its event reports it (ACR's <c>request</c> and <c>actor</c>). The
/// host is the registry's configured public host, never a request header; nothing here is ever a credential.
/// </summary>
public sealed record ChangeOrigin(string Actor, string? RequestId = null, string? Host = null, string? Method = null, string? UserAgent = null);

/// <summary>
/// The outbox (<c>event:</c> rows of a repository partition): one row per change, added in the same transaction as
/// the change, so a change and its event cannot disagree. <see cref="Outbox"/> publishes and moves them.
/// </summary>
public static class OutboxRows
{
    private const int MaxTextLength = 256;

    /// <summary>The row that records a change to <paramref name="digest"/> (and <paramref name="tag"/>) in <paramref name="repository"/>.</summary>
    public static TableTransactionAction Record(
        RepositoryName repository, string action, Digest digest, Tag? tag, string mediaType, long size, string? artifactType,
        ChangeOrigin origin, DateTimeOffset now)
    {
        var id = Guid.NewGuid().ToString("N");
        return new(TableTransactionActionType.Add, new EventEntity
        {
            PartitionKey = TableKeys.Repository(repository),
            RowKey = TableKeys.Event(now, id),
            Id = id,
            Action = action,
            Repository = repository.Value,
            Digest = digest.Value,
            Tag = tag?.Value,
            MediaType = mediaType,
            Size = size,
            ArtifactType = Clip(artifactType),
            OccurredOn = now,
            Actor = Clip(origin.Actor),
            RequestId = Clip(origin.RequestId),
            Host = Clip(origin.Host),
            Method = Clip(origin.Method),
            UserAgent = Clip(origin.UserAgent),
        });
    }

    private static string? Clip(string? text) => text is { Length: > MaxTextLength } ? text[..MaxTextLength] : text;
}
