using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Tests.Fixtures;

/// <summary>
/// A storage pipeline policy that holds one chosen storage call of an instance at the worst moment of a race: before it
/// is sent or after its answer came back, until the test releases it. Races are then played in a fixed order, never
/// with sleeps.
/// </summary>
public sealed class StorageGate : HttpPipelinePolicy
{
    private readonly Lock _lock = new();
    private Func<Request, bool>? _match;
    private bool _afterResponse;
    private volatile Func<Request, bool>? _failing;
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the held call reached the gate.</summary>
    public Task Reached => _reached.Task;

    /// <summary>Holds the next call that <paramref name="match"/> accepts, before it is sent.</summary>
    public void HoldBefore(Func<Request, bool> match) => Arm(match, afterResponse: false);

    /// <summary>Holds the next call that <paramref name="match"/> accepts, once storage answered it.</summary>
    public void HoldAfter(Func<Request, bool> match) => Arm(match, afterResponse: true);

    /// <summary>Fails every call that <paramref name="match"/> accepts with an I/O error (a collector killed there), until <see cref="StopFailing"/>.</summary>
    public void FailWhile(Func<Request, bool> match) => _failing = match;

    public void StopFailing() => _failing = null;

    /// <summary>Lets the held call go on.</summary>
    public void Release() => _release.TrySetResult();

    /// <summary>A Table batch (entity-group transaction).</summary>
    public static bool IsBatch(Request request) =>
        request.Method == RequestMethod.Post && request.Uri.Path.EndsWith("/$batch", StringComparison.Ordinal);

    /// <summary>A Put Block List: a blob's block list being committed.</summary>
    public static bool IsCommit(Request request) =>
        request.Method == RequestMethod.Put && request.Uri.Query.Contains("comp=blocklist", StringComparison.Ordinal);

    /// <summary>A Table batch on a table whose name starts with <paramref name="tablePrefix"/>: a batch names no table in its URL, so its body is read.</summary>
    public static bool IsBatchOn(Request request, string tablePrefix) => IsBatchWith(request, $"/{tablePrefix}");

    /// <summary>A Table batch whose body holds <paramref name="text"/> (a row key, URL-encoded as the batch spells it).</summary>
    public static bool IsBatchWith(Request request, string text) =>
        IsBatch(request) && request.Content is { } content && BodyMentions(content, text);

    /// <summary>A write of one Table entity (insert, replace or merge, not in a batch) whose row key is <paramref name="rowKey"/>.</summary>
    public static bool IsEntityWrite(Request request, string rowKey) =>
        (request.Method == RequestMethod.Post || request.Method == RequestMethod.Put || request.Method == RequestMethod.Patch)
        && !IsBatch(request)
        && (Uri.UnescapeDataString(request.Uri.Path).Contains($"RowKey='{rowKey}'", StringComparison.Ordinal)
            || request.Content is { } content && BodyMentions(content, $"\"RowKey\":\"{rowKey}\""));

    /// <summary>A delete of one Table entity whose row key starts with <paramref name="rowPrefix"/>.</summary>
    public static bool IsEntityDelete(Request request, string rowPrefix) =>
        request.Method == RequestMethod.Delete
        && Uri.UnescapeDataString(request.Uri.Path).Contains($"RowKey='{rowPrefix}", StringComparison.Ordinal);

    private static bool BodyMentions(RequestContent content, string text)
    {
        using var buffer = new MemoryStream();
        content.WriteTo(buffer, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()).Contains(text, StringComparison.Ordinal);
    }

    private void Arm(Func<Request, bool> match, bool afterResponse)
    {
        lock (_lock)
        {
            _match = match;
            _afterResponse = afterResponse;
            _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        if (_failing is { } failing && failing(message.Request))
        {
            throw new IOException("injected: the process died here");
        }
        bool hold, after;
        TaskCompletionSource reached, release;
        lock (_lock)
        {
            hold = _match is not null && _match(message.Request);
            after = _afterResponse;
            reached = _reached;
            release = _release;
            if (hold)
            {
                _match = null;
            }
        }
        if (hold && !after)
        {
            reached.TrySetResult();
            await release.Task;
        }
        await ProcessNextAsync(message, pipeline);
        if (hold && after)
        {
            reached.TrySetResult();
            await release.Task;
        }
    }

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        throw new NotSupportedException("the registry calls storage asynchronously");
}
