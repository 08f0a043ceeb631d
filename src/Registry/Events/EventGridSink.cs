using System.Globalization;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Messaging.EventGrid;

namespace Registry.Events;

/// <summary>
/// The Event Grid topic, through Azure.Messaging.EventGrid's publisher client: with the app's identity
/// (DefaultAzureCredential), or with an access key for an Event-Grid-compatible endpoint. The client does not retry:
/// the dispatcher does, keeping the order of a repository's events.
/// </summary>
public sealed class EventGridSink : IEventSink
{
    private readonly EventGridPublisherClient _client;

    public EventGridSink(Uri endpoint, string? key, string? managedIdentityClientId)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var options = new EventGridPublisherClientOptions();
        options.Retry.MaxRetries = 0;
        _client = key is { Length: > 0 }
            ? new EventGridPublisherClient(endpoint, new AzureKeyCredential(key), options)
            : new EventGridPublisherClient(endpoint, (TokenCredential)new DefaultAzureCredential(
                new DefaultAzureCredentialOptions { ManagedIdentityClientId = managedIdentityClientId }), options);
        Name = endpoint.Host;
    }

    public string Name { get; }

    public async Task<Delivery> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        try
        {
            await _client.SendEncodedCloudEventsAsync(batch, cancellationToken);
            return Delivery.Done;
        }
        catch (RequestFailedException e)
        {
            var retryAfter = e.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var text) == true
                && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
            return e.Status == 0
                ? new Delivery(DeliveryOutcome.RetryLater, null, $"{Name}: {e.Message.Split('\n')[0]}")
                : Delivery.FromStatus(e.Status, retryAfter, $"{Name} answered {e.Status}");
        }
        catch (Exception e) when (e is AuthenticationFailedException or HttpRequestException or OperationCanceledException or IOException)
        {
            return new Delivery(DeliveryOutcome.RetryLater, null, $"{Name}: {e.Message.Split('\n')[0]}");
        }
    }
}
