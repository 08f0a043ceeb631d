using Azure.Core;
using Azure.Core.Pipeline;
using Registry.Diagnostics;

namespace Registry.Storage;

/// <summary>
/// Counts every HTTP call the storage clients make (retries included) as <c>registry.storage.calls</c>: the service
/// (blob or table: a table URL has <c>.table.</c> in its host, or on Azurite's path-style URLs a
/// <c>$batch</c>, <c>Tables</c> or <c>name(...)</c> path), an operation name built from the
/// method and what the URL addresses, and the outcome (the status class, or <c>network-error</c>).
/// </summary>
public sealed class StorageCallMetrics(RegistryMetrics metrics) : HttpPipelinePolicy
{
    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            Record(message);
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            await ProcessNextAsync(message, pipeline);
        }
        finally
        {
            Record(message);
        }
    }

    private void Record(HttpMessage message)
    {
        var (service, operation) = Describe(message.Request);
        var outcome = message.HasResponse ? $"{message.Response.Status / 100}xx" : "network-error";
        metrics.RecordStorageCall(service, operation, outcome);
    }

    /// <summary>The service and a low-cardinality operation name: <c>PUT block</c>, <c>GET entity</c>, <c>POST batch</c>...</summary>
    public static (string Service, string Operation) Describe(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.Uri;
        var path = uri.Path;
        var query = uri.Query;
        var method = request.Method.Method;
        var isTable = (uri.Host ?? "").Contains(".table.", StringComparison.OrdinalIgnoreCase)
            || path.Contains("$batch", StringComparison.Ordinal)
            || path.Contains('(', StringComparison.Ordinal)
            || path.EndsWith("/Tables", StringComparison.Ordinal);
        if (isTable)
        {
            var what = path.Contains("$batch", StringComparison.Ordinal) ? "batch"
                : path.Contains("Tables", StringComparison.Ordinal) ? "table"
                : path.Contains("PartitionKey=", StringComparison.Ordinal) ? "entity"
                : "query";
            return ("table", $"{method} {what}");
        }
        var comp = ParameterValue(query, "comp");
        return ("blob", comp is null ? $"{method} blob" : $"{method} {comp}");
    }

    private static string? ParameterValue(string query, string name)
    {
        foreach (var pair in query.TrimStart('?').Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair.AsSpan(0, equals).SequenceEqual(name))
            {
                return pair[(equals + 1)..];
            }
        }
        return null;
    }
}
