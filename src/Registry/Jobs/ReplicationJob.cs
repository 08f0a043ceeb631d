using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Registry.Jobs;

/// <summary>
/// Geo-replication of one registry event (a CloudEvent delivered by Event Grid into the <c>replication</c> queue).
/// The trigger is wired; copying to the replica accounts (<c>Replication:BlobServiceUris</c>) is not built yet, so a
/// well-formed event is acknowledged as <see cref="JobReport.NotConfigured"/>. A message that is not a JSON object is
/// refused, so the host retries it and finally moves it to the poison queue instead of losing it silently.
/// </summary>
public sealed class ReplicationJob(IConfiguration configuration)
{
    public const string Name = "replicate";

    /// <summary>Handles one queue message; null when the message is not an event at all.</summary>
    public JobReport? Handle(string message)
    {
        try
        {
            using var document = JsonDocument.Parse(message);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var type = document.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var replicas = (configuration["Replication:BlobServiceUris"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var summary = replicas.Length == 0
                ? $"no replica regions are configured; event {type ?? "(untyped)"} needs no copy"
                : $"geo-replication to {replicas.Length} replica accounts is not built yet; event {type ?? "(untyped)"} was not copied";
            return new JobReport(Name, JobReport.NotConfigured, summary);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
