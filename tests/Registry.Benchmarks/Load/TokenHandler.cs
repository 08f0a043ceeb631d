using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Benchmarks.Processes;
using Registry.Http;

namespace Registry.Benchmarks.Load;

/// <summary>
/// Docker's token dance, done once per scope and reused: a Bearer token from <c>/oauth2/token</c> (asked with the
/// owner's Basic credentials) for the repository a request addresses (pull and push; delete for a DELETE),
/// refreshed before its 5 minutes run out.
/// Requests to other hosts (the SAS URLs a pull is redirected to) go without it.
/// </summary>
internal sealed class TokenHandler(Uri registry, OwnerCredentials owner, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private static readonly TimeSpan Reuse = TimeSpan.FromMinutes(3);

    private readonly ConcurrentDictionary<string, Task<(string Token, DateTimeOffset At)>> _tokens = new(StringComparer.Ordinal);

    public string BasicCredentials => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{owner.User}:{owner.Password}"));

    /// <summary>Fetches the tokens for these repositories now, so a timed loop does not pay for them.</summary>
    public Task PrepareAsync(IEnumerable<string> repositories, CancellationToken cancellationToken) =>
        Task.WhenAll(repositories.Select(r => TokenAsync(RepositoryScope(r), cancellationToken)));

    /// <summary>A pull-and-push Bearer token for <paramref name="repository"/>, for requests sent over raw sockets.</summary>
    public Task<string> BearerAsync(string repository, CancellationToken cancellationToken) => TokenAsync(RepositoryScope(repository), cancellationToken);

    public static string RepositoryScope(string repository) => $"repository:{repository}:pull,push";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri is { } uri && request.Headers.Authorization is null && uri.Authority == registry.Authority
            && uri.AbsolutePath.StartsWith("/v2/", StringComparison.Ordinal))
        {
            var token = await TokenAsync(ScopeFor(request.Method, uri.AbsolutePath), cancellationToken);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await base.SendAsync(request, cancellationToken);
    }

    private async Task<string> TokenAsync(string scope, CancellationToken cancellationToken)
    {
        var pending = _tokens.GetOrAdd(scope, s => FetchAsync(s, cancellationToken));
        (string Token, DateTimeOffset At) cached;
        try
        {
            cached = await pending;
        }
        catch
        {
            _tokens.TryRemove(KeyValuePair.Create(scope, pending));
            throw;
        }
        if (DateTimeOffset.UtcNow - cached.At > Reuse)
        {
            var fresh = FetchAsync(scope, cancellationToken);
            _tokens[scope] = fresh;
            cached = await fresh;
        }
        return cached.Token;
    }

    private static string ScopeFor(HttpMethod method, string path)
    {
        if (path.StartsWith("/v2/_catalog", StringComparison.Ordinal))
        {
            return "registry:catalog:*";
        }
        if (RegistryRoute.Parse(path[4..]) is not { Name.Length: > 0 } route)
        {
            return "";
        }
        return method == HttpMethod.Delete ? $"repository:{route.Name}:delete" : RepositoryScope(route.Name);
    }

    private async Task<(string Token, DateTimeOffset At)> FetchAsync(string scope, CancellationToken cancellationToken)
    {
        var query = scope.Length == 0 ? "" : "&scope=" + Uri.EscapeDataString(scope);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(registry, "/oauth2/token?service=registry" + query));
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials);
        using var response = await base.SendAsync(request, cancellationToken);
        await Expect.StatusAsync(response, System.Net.HttpStatusCode.OK, "token request");
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var doc = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        return (doc.RootElement.GetProperty("token").GetString()!, DateTimeOffset.UtcNow);
    }
}
