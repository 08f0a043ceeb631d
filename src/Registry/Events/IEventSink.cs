namespace Registry.Events;

/// <summary>What a sink did with a batch: took it, asks for it again later, or refuses it as it is.</summary>
public enum DeliveryOutcome
{
    Delivered,
    /// <summary>The sink or the way to it failed (5xx, 408, 429, unreachable, too slow): the same batch later.</summary>
    RetryLater,
    /// <summary>The sink answered 4xx (not 408 or 429): the batch, as it is, will not be taken.</summary>
    Rejected,
}

/// <summary>A sink's answer, with how long it asked to wait (<c>Retry-After</c>) and what went wrong.</summary>
public sealed record Delivery(DeliveryOutcome Outcome, TimeSpan? RetryAfter = null, string? Error = null)
{
    public static readonly Delivery Done = new(DeliveryOutcome.Delivered);

    /// <summary>The outcome an HTTP status stands for.</summary>
    public static Delivery FromStatus(int status, TimeSpan? retryAfter, string error) => status switch
    {
        >= 200 and < 300 => Done,
        408 or 429 or >= 500 => new Delivery(DeliveryOutcome.RetryLater, retryAfter, error),
        _ => new Delivery(DeliveryOutcome.Rejected, null, error),
    };
}

/// <summary>Somewhere events are delivered: the Event Grid topic, or a webhook.</summary>
public interface IEventSink
{
    /// <summary>A name for logs and errors: the topic's or webhook's host.</summary>
    string Name { get; }

    /// <summary>Delivers one CloudEvents batch (a JSON array); never throws for what the sink or the network did.</summary>
    Task<Delivery> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken);
}
