using Microsoft.Extensions.Options;
using Registry.Storage;

namespace Registry.Events;

/// <summary>The configured sinks, built on first use; a batch is delivered when every one of them took it.</summary>
public sealed class EventSinks(IOptions<EventsOptions> options, IOptions<StorageOptions> storage) : IDisposable
{
    private readonly Lazy<IReadOnlyList<IEventSink>> _sinks = new(() => Build(options.Value, storage.Value));

    public IReadOnlyList<IEventSink> All => _sinks.Value;

    /// <summary>
    /// Sends the batch to each sink in turn; the first that does not take it decides the answer (the batch is sent again
    /// later to all of them, so a sink that took it gets it twice, with the same ids).
    /// </summary>
    public async Task<Delivery> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        foreach (var sink in All)
        {
            var delivery = await sink.SendAsync(batch, cancellationToken);
            if (delivery.Outcome != DeliveryOutcome.Delivered)
            {
                return delivery;
            }
        }
        return Delivery.Done;
    }

    private static List<IEventSink> Build(EventsOptions options, StorageOptions storage)
    {
        var sinks = new List<IEventSink>();
        if (options.TopicEndpoint is { } topic)
        {
            sinks.Add(new EventGridSink(topic, options.TopicKey, storage.ManagedIdentityClientId));
        }
        sinks.AddRange(options.Webhooks.Select(w => new WebhookSink(w, options.AllowPrivateTargets, options.SendTimeout)));
        return sinks;
    }

    public void Dispose()
    {
        if (_sinks.IsValueCreated)
        {
            foreach (var sink in _sinks.Value.OfType<IDisposable>())
            {
                sink.Dispose();
            }
        }
    }
}
