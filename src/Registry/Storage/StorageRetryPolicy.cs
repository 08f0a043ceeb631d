using System.Globalization;
using System.Runtime.ExceptionServices;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Registry.Storage;

/// <summary>
/// The retry policy of every storage client, which gives each storage call a deadline, retries included: a call that
/// moves blob content (staging a block, committing a block list, writing or reading a blob) has
/// <see cref="StorageOptions.TransferDeadline"/>, every other call <see cref="StorageOptions.CallDeadline"/>. Each try
/// gets what is left of the deadline as its network timeout (at most <see cref="StorageOptions.NetworkTimeout"/>), and
/// a retry is made only when its backoff ends before the deadline. A call that runs out throws
/// <see cref="StorageDeadlineExceededException"/>, so a stalled storage fails every call in bounded time, whatever
/// token its caller passed (<see cref="CancellationToken.None"/> included). A call its caller cancels is not retried.
///
/// <para>A write that a replay cannot repeat safely (a Table insert or entity-group transaction, or any write
/// conditional on an ETag) is retried only when storage certainly did not apply it: it refused it (429, 503), or the
/// connection never opened. A try that timed out or broke off may have been applied, and its replay would fail against
/// its own write as if another request had made it: a manifest push on its own event row, a new upload session on its
/// own row (409, which is not a storage fault, so the client got a 500). Such a call fails instead (503 for the
/// client), and the client's retry starts from what storage holds.</para>
/// </summary>
internal sealed class StorageRetryPolicy(bool blobService, StorageOptions options, TimeProvider time) : HttpPipelinePolicy
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(800);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(8);

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        SendAsync(message, pipeline, async: true);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
        SendAsync(message, pipeline, async: false).AsTask().GetAwaiter().GetResult();

    /// <summary>The deadline of <paramref name="request"/>: content moves (GET or PUT of a blob or block) get the longer one.</summary>
    public TimeSpan DeadlineOf(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var movesContent = blobService
            && (request.Method == RequestMethod.Get || request.Method == RequestMethod.Put)
            && !request.Uri.Query.Contains("restype=", StringComparison.Ordinal);
        return movesContent ? options.TransferDeadline : options.CallDeadline;
    }

    private async ValueTask SendAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline, bool async)
    {
        var deadline = DeadlineOf(message.Request);
        var started = time.GetTimestamp();
        var replaySafe = IsReplaySafe(message.Request);
        List<Exception>? failures = null;
        for (var attempt = 0; ; attempt++)
        {
            // A retry starts only with time left; a backoff that overran by a hair still leaves the try a moment.
            message.NetworkTimeout = Min(Max(deadline - time.GetElapsedTime(started), TimeSpan.FromMilliseconds(1)), options.NetworkTimeout);
            Exception? failure = null;
            try
            {
                if (async)
                {
                    await ProcessNextAsync(message, pipeline);
                }
                else
                {
                    ProcessNext(message, pipeline);
                }
            }
#pragma warning disable CA1031 // every failure of a try is judged below: retried, rethrown, or reported as the deadline's
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
                (failures ??= []).Add(e);
            }
            if (failure is null && !message.Response.IsError)
            {
                return;
            }
            if (message.CancellationToken.IsCancellationRequested)
            {
                // The caller gave up: its cancellation, not a storage failure, is what it gets.
                ThrowIfFailed(failure, failures);
                return;
            }
            var retriable = attempt < options.MaxRetries && (failure is null
                ? IsRetriableResponse(message, replaySafe)
                : message.ResponseClassifier.IsRetriable(message, failure) && (replaySafe || NeverSent(failure)));
            var left = deadline - time.GetElapsedTime(started);
            var backoff = retriable ? Backoff(attempt, message) : TimeSpan.Zero;
            if (left <= TimeSpan.Zero || (retriable && backoff >= left))
            {
                if (failure is null)
                {
                    // Storage answered with an error: the client turns that answer into its exception.
                    return;
                }
                throw new StorageDeadlineExceededException(StorageCallMetrics.Describe(message.Request).Operation, deadline, attempt + 1,
                    failures!.Count == 1 ? failure : new AggregateException(failures));
            }
            if (!retriable)
            {
                ThrowIfFailed(failure, failures);
                return;
            }
            if (async)
            {
                await Task.Delay(backoff, time, message.CancellationToken);
            }
            else
            {
                Task.Delay(backoff, time, message.CancellationToken).GetAwaiter().GetResult();
            }
            if (message.HasResponse)
            {
                // Frees the connection the failed answer holds.
                message.Response.ContentStream?.Dispose();
            }
            var context = message.ProcessingContext;
            context.RetryNumber = attempt + 1;
        }
    }

    /// <summary>As the SDK's own retry policy does: one failure as it was thrown, several as an <see cref="AggregateException"/>.</summary>
    private static void ThrowIfFailed(Exception? failure, List<Exception>? failures)
    {
        if (failure is null)
        {
            return;
        }
        if (failures!.Count == 1)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
        throw new AggregateException($"storage call failed after {failures.Count} tries", failures);
    }

    /// <summary>False for a Table insert or transaction (POST) and for any request conditional on an ETag.</summary>
    private bool IsReplaySafe(Request request) =>
        !(!blobService && request.Method == RequestMethod.Post)
        && !request.Headers.Contains("If-Match")
        && !request.Headers.Contains("If-None-Match");

    private static bool IsRetriableResponse(HttpMessage message, bool replaySafe) =>
        replaySafe ? message.ResponseClassifier.IsRetriableResponse(message) : message.Response.Status is 429 or 503;

    /// <summary>Whether the try failed before its request could reach storage: no connection was made.</summary>
    private static bool NeverSent(Exception failure)
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Exponential from 0.8 s with ±20 % jitter, at most 8 s, and never shorter than the Retry-After storage asked for.</summary>
    private static TimeSpan Backoff(int attempt, HttpMessage message)
    {
        var backoff = FirstBackoff * Math.Pow(2, attempt) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        backoff = Min(backoff, MaxBackoff);
        if (message.HasResponse && message.Response.Headers.TryGetValue("Retry-After", out var retryAfter)
            && int.TryParse(retryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            backoff = TimeSpan.FromSeconds(Math.Max(seconds, backoff.TotalSeconds));
        }
        return backoff;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>A storage call got no answer within its deadline (<see cref="StorageRetryPolicy"/>); the inner exception is its last try's failure.</summary>
public sealed class StorageDeadlineExceededException(string operation, TimeSpan deadline, int tries, Exception inner)
    : TimeoutException($"storage call {operation} got no answer within its deadline of {deadline} ({tries} {(tries == 1 ? "try" : "tries")})", inner);
