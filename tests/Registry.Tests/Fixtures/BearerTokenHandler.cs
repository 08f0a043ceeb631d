using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Http;

namespace Registry.Tests.Fixtures;

/// <summary>
/// Authenticates test requests the way docker does, but up front: it asks the registry's token endpoint (with Basic
/// credentials) for a token scoped to the repository a request addresses, caches it, and sends it as a Bearer token.
/// Requests whose path names no valid repository go without a scope. A token is reused by <paramref name="clock"/>
/// (the registry's own, when a test moves it).
/// </summary>
public sealed class BearerTokenHandler(Uri registry, string user, string password, bool followRedirects, TimeProvider? clock = null)
    : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = followRedirects })
{
    // Tokens live 5 minutes; one older than this is fetched again.
    private static readonly TimeSpan Reuse = TimeSpan.FromMinutes(3);

    private readonly ConcurrentDictionary<string, Task<(string Token, DateTimeOffset At)>> _tokens = new(StringComparer.Ordinal);
    private readonly HttpClient _tokenClient = new() { BaseAddress = registry };

    private DateTimeOffset Now => (clock ?? TimeProvider.System).GetUtcNow();

    public string BasicCredentials => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && request.Headers.Authorization is null
            && (!uri.IsAbsoluteUri || uri.Authority == registry.Authority))
        {
            var scope = ScopeFor(uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString.Split('?')[0]);
            // A mount also needs pull on the source repository, as docker asks for it.
            var from = System.Web.HttpUtility.ParseQueryString(uri.IsAbsoluteUri ? uri.Query : "")["from"];
            if (from is not null)
            {
                scope += $" repository:{from}:pull";
            }
            var pending = _tokens.GetOrAdd(scope, FetchAsync);
            (string Token, DateTimeOffset At) cached;
            try
            {
                cached = await pending;
            }
            catch
            {
                // A failed fetch (the registry not up yet, say) is not cached.
                _tokens.TryRemove(KeyValuePair.Create(scope, pending));
                throw;
            }
            if (Now - cached.At > Reuse)
            {
                _tokens[scope] = FetchAsync(scope);
                cached = await _tokens[scope];
            }
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", cached.Token);
        }
        return await base.SendAsync(request, cancellationToken);
    }

    private static string ScopeFor(string path)
    {
        if (path.StartsWith("/v2/_catalog", StringComparison.Ordinal))
        {
            return "registry:catalog:*";
        }
        if (!path.StartsWith("/v2/", StringComparison.Ordinal) || RegistryRoute.Parse(path[4..]) is not { } route || route.Name.Length == 0)
        {
            return "";
        }
        return $"repository:{route.Name}:pull,push,delete";
    }

    private async Task<(string Token, DateTimeOffset At)> FetchAsync(string scope)
    {
        var scopes = string.Concat(scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => "&scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry" + scopes);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials);
        var response = await _tokenClient.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (doc.RootElement.GetProperty("token").GetString()!, Now);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tokenClient.Dispose();
        }
        base.Dispose(disposing);
    }
}
