using System.Text.Json;
using Registry.Storage;
using Registry.Storage.Events;

namespace Registry.Events;

/// <summary>
/// Turns outbox rows into CloudEvents 1.0 in Azure Container Registry's Event Grid schema, so subscribers written for
/// ACR work unchanged: types <c>Microsoft.ContainerRegistry.ImagePushed</c>/<c>ImageDeleted</c> (and
/// <c>ChartPushed</c>/<c>ChartDeleted</c> for Helm charts), <c>subject</c> <c>repository:tag</c> (or
/// <c>repository@digest</c>), and <c>data</c> with <c>id</c>, <c>timestamp</c>, <c>action</c>, <c>target</c>,
/// <c>request</c> and <c>actor</c>. The event id is the outbox row's, so a resent event has the same id.
/// </summary>
public static class RegistryEvents
{
    public const string ImagePushed = "Microsoft.ContainerRegistry.ImagePushed";
    public const string ImageDeleted = "Microsoft.ContainerRegistry.ImageDeleted";
    public const string ChartPushed = "Microsoft.ContainerRegistry.ChartPushed";
    public const string ChartDeleted = "Microsoft.ContainerRegistry.ChartDeleted";

    /// <summary>A Helm chart's config media type, which makes its pushes and deletes chart events.</summary>
    public const string HelmConfig = "application/vnd.cncf.helm.config.v1+json";

    public static string TypeOf(EventEntity row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var chart = row.ArtifactType == HelmConfig;
        return row.Action == OutboxActions.Push ? (chart ? ChartPushed : ImagePushed) : (chart ? ChartDeleted : ImageDeleted);
    }

    /// <summary>The events as one CloudEvents JSON batch (an array), as Event Grid and the webhooks receive it.</summary>
    public static byte[] Batch(IEnumerable<EventEntity> rows, string source)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var row in rows)
            {
                Write(json, row, source);
            }
            json.WriteEndArray();
        }
        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter json, EventEntity row, string source)
    {
        json.WriteStartObject();
        json.WriteString("specversion", "1.0");
        json.WriteString("id", row.Id);
        json.WriteString("source", source);
        json.WriteString("subject", row.Tag is { } tag ? $"{row.Repository}:{tag}" : $"{row.Repository}@{row.Digest}");
        json.WriteString("type", TypeOf(row));
        json.WriteString("time", row.OccurredOn);
        json.WriteString("datacontenttype", "application/json");
        json.WriteStartObject("data");
        json.WriteString("id", row.Id);
        json.WriteString("timestamp", row.OccurredOn);
        json.WriteString("action", row.Action == OutboxActions.Push ? "push" : "delete");
        json.WriteStartObject("target");
        WriteIf(json, "mediaType", row.MediaType);
        json.WriteNumber("size", row.Size);
        WriteIf(json, "digest", row.Digest);
        json.WriteNumber("length", row.Size);
        json.WriteString("repository", row.Repository);
        WriteIf(json, "tag", row.Tag);
        if (row.ArtifactType == HelmConfig)
        {
            json.WriteString("name", row.Repository[(row.Repository.LastIndexOf('/') + 1)..]);
            WriteIf(json, "version", row.Tag);
        }
        json.WriteEndObject();
        json.WriteStartObject("request");
        WriteIf(json, "id", row.RequestId);
        WriteIf(json, "host", row.Host);
        WriteIf(json, "method", row.Method);
        WriteIf(json, "useragent", row.UserAgent);
        json.WriteEndObject();
        json.WriteStartObject("actor");
        WriteIf(json, "name", row.Actor);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteIf(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
