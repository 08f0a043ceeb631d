using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Counts the storage calls of an in-process registry: registered as an <see cref="HttpPipelinePolicy"/>, which the
/// registry's StorageClients adds to every Blob and Table client (per retry, so a retried call counts twice, as it
/// costs twice). Each call is described by method, service and path shape: <c>GET table repositories(entity)</c>.
/// </summary>
internal sealed class StorageCallCounter(string tablePrefix) : HttpPipelinePolicy
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<string> _calls = new();
    private int _inFlight;
    private long _total;
    private long _lastActivity = Stopwatch.GetTimestamp();

    /// <summary>Every call since the counter was made, measured or not.</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>"GET table repositories(entity) ×2, POST table audit": what the calls were.</summary>
    public static string Breakdown(IReadOnlyList<string> calls) =>
        string.Join(", ", calls.GroupBy(c => c).Select(g => g.Count() == 1 ? g.Key : $"{g.Key} ×{g.Count()}"));

    /// <summary>
    /// Runs <paramref name="operation"/> and returns the calls it caused, including those made after its response was
    /// sent (the audit record): the count is taken once no call has been running for a moment.
    /// </summary>
    public async Task<IReadOnlyList<string>> MeasureAsync(Func<Task> operation)
    {
        await SettleAsync();
        _calls.Clear();
        await operation();
        await SettleAsync();
        return [.. _calls];
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Begin(message);
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            End();
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Begin(message);
        try
        {
            await ProcessNextAsync(message, pipeline);
        }
        finally
        {
            End();
        }
    }

    private void Begin(HttpMessage message)
    {
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _total);
        Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
        _calls.Enqueue(Describe(message.Request));
    }

    private void End()
    {
        Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());
        Interlocked.Decrement(ref _inFlight);
    }

    private async Task SettleAsync()
    {
        var watch = Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 || Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastActivity)) < Quiet)
        {
            if (watch.Elapsed > SettleDeadline)
            {
                throw new TimeoutException($"storage calls still running after {SettleDeadline}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary><c>GET table repositories(entity)</c>, <c>POST table $batch</c>, <c>PUT blob ?comp=block</c>…</summary>
    private string Describe(Request request)
    {
        var uri = request.Uri.ToUri();
        // Path: /<account>/<table or container>/<blob...>
        var segments = uri.AbsolutePath.Split('/', 3, StringSplitOptions.RemoveEmptyEntries);
        var resource = segments.Length > 1 ? Uri.UnescapeDataString(segments[1]) : "";
        var isTable = request.Headers.TryGetValue("DataServiceVersion", out _) || resource.EndsWith(')') || resource is "$batch" or "Tables";
        if (isTable)
        {
            var open = resource.IndexOf('(', StringComparison.Ordinal);
            var table = open < 0 ? resource : resource[..open];
            if (table.StartsWith(tablePrefix, StringComparison.Ordinal))
            {
                table = table[tablePrefix.Length..];
            }
            var shape = open < 0 ? "" : resource[(open + 1)..].StartsWith(')') ? "(query)" : "(entity)";
            return $"{request.Method} table {table}{shape}";
        }
        var comp = System.Web.HttpUtility.ParseQueryString(uri.Query)["comp"];
        return $"{request.Method} blob{(comp is null ? "" : " ?comp=" + comp)}";
    }
}
