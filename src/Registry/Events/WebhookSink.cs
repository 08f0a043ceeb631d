using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Registry.Events;

/// <summary>
/// A webhook: each batch POSTed as <c>application/cloudevents-batch+json</c> with the configured headers and, when a
/// secret is set, <c>X-Registry-Signature-256: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c> (as GitHub and Harbor
/// sign theirs). Every connection checks the address the host name resolved to (<see cref="TargetAddresses"/>), so an
/// internal address is never reached unless allowed, and nothing is sent there.
/// </summary>
public sealed class WebhookSink : IEventSink, IDisposable
{
    public const string SignatureHeader = "X-Registry-Signature-256";

    private readonly HttpClient _http;
    private readonly WebhookOptions _options;

    public WebhookSink(WebhookOptions options, bool allowInternal, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Name = options.Url!.Host;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
                var allowed = addresses.Where(a => allowInternal || !TargetAddresses.IsInternal(a)).ToArray();
                if (allowed.Length == 0)
                {
                    throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves to internal addresses only; not connecting");
                }
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { Timeout = timeout };
    }

    public string Name { get; }

    public async Task<Delivery> SendAsync(ReadOnlyMemory<byte> batch, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ReadOnlyMemoryContent(batch) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/cloudevents-batch+json") { CharSet = "utf-8" };
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (_options.Secret is { Length: > 0 } secret)
        {
            request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(batch.Span, secret));
        }
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var retryAfter = response.Headers.RetryAfter is { } r ? r.Delta ?? (r.Date - DateTimeOffset.UtcNow) : null;
            return Delivery.FromStatus((int)response.StatusCode, retryAfter, $"{Name} answered {(int)response.StatusCode}");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            return new Delivery(DeliveryOutcome.RetryLater, null, $"{Name}: {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary><c>sha256=</c> and the lowercase hex HMAC-SHA256 of <paramref name="body"/> under <paramref name="secret"/>.</summary>
    public static string Sign(ReadOnlySpan<byte> body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body));

    public void Dispose() => _http.Dispose();
}
