using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Registry.Oci;
using Registry.Replication;

namespace Registry.Http;

/// <summary>
/// How a replica takes a write: it forwards the request to the primary (<c>Replication:PrimaryUrl</c>) with the client's
/// credentials and answers with the primary's answer. The upload's <c>Location</c> stays relative, so the client sends
/// its PATCH and PUT to the host it knows, which forwards them too, streaming: docker sends its credentials only to the
/// host it logged in to, so an absolute Location at the primary's own name would reach it without them. The cost is one
/// more hop for the pushed bytes (a replica's memory does not grow with them). Tokens of either region are valid in
/// both when they share <c>Auth:SigningKeyPem</c>. With the primary unreachable the client gets 503 with <c>Retry-After</c>.
/// </summary>
public sealed class PrimaryForwarder : IDisposable
{
    /// <summary>Request headers the primary needs to answer as it would the client.</summary>
    private static readonly string[] RequestHeaders = ["Authorization", "Accept", "User-Agent", "Range", "Content-Range", "X-Request-Id"];

    /// <summary>Response headers of the registry protocol that the client reads.</summary>
    private static readonly string[] ResponseHeaders =
    [
        "Location", "Docker-Upload-UUID", "Docker-Content-Digest", "Range", "WWW-Authenticate", "Retry-After", "OCI-Subject",
        "Docker-Distribution-API-Version",
    ];

    private readonly HttpClient _http;
    private readonly Uri? _primary;

    public PrimaryForwarder(IOptions<ReplicationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _primary = options.Value.PrimaryUrl;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromMinutes(10),
        };
    }

    /// <summary>Whether writes are forwarded (a replica that knows its primary's URL); otherwise they are refused.</summary>
    public bool Enabled => _primary is not null;

    public async Task ForwardAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var primary = _primary ?? throw new InvalidOperationException("Replication:PrimaryUrl is not set");
        var request = context.Request;
        var target = new Uri(primary, request.Path.Value + request.QueryString.Value);
        using var forwarded = new HttpRequestMessage(new HttpMethod(request.Method), target);
        foreach (var name in RequestHeaders)
        {
            if (request.Headers.TryGetValue(name, out var values))
            {
                forwarded.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }
        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            // Streamed: an upload's bytes pass through only when a client sends them here rather than to the Location.
            forwarded.Content = new StreamContent(request.Body);
            if (request.ContentLength is { } length)
            {
                forwarded.Content.Headers.ContentLength = length;
            }
            if (request.ContentType is { } type)
            {
                forwarded.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
        }
        // An upload's chunk is streamed on, of any size; moving it is not the registry being slow, so the budget waits.
        RequestBodyLimit.Set(context, null);
        HttpResponseMessage answer;
        try
        {
            using (RequestBudget.Pause(context))
            {
                answer = await _http.SendAsync(forwarded, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            context.Response.Headers.RetryAfter = "30";
            await OciResponses.ErrorAsync(context, Failure.Unavailable,
                $"this registry is a read replica and its primary ({primary.GetLeftPart(UriPartial.Authority)}) is unreachable: push again later");
            return;
        }
        using (answer)
        {
            var response = context.Response;
            response.StatusCode = (int)answer.StatusCode;
            foreach (var name in ResponseHeaders)
            {
                if (answer.Headers.TryGetValues(name, out var values) || answer.Content.Headers.TryGetValues(name, out values))
                {
                    response.Headers[name] = values.ToArray();
                }
            }
            if (answer.Content.Headers.ContentType is { } contentType)
            {
                response.ContentType = contentType.ToString();
            }
            if (answer.Content.Headers.ContentLength is { } length)
            {
                response.ContentLength = length;
            }
            await answer.Content.CopyToAsync(response.Body, context.RequestAborted);
        }
    }

    public void Dispose() => _http.Dispose();
}
