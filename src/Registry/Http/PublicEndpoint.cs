using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;

namespace Registry.Http;

/// <summary>
/// The registry's public base URL, for the token realm: <c>Registry:PublicUrl</c> when configured, otherwise the
/// address the server itself listens on (standalone runs). Never built from a request's Host or X-Forwarded-* headers.
/// </summary>
public sealed class PublicEndpoint(IConfiguration configuration, IServer server)
{
    public Uri BaseUrl =>
        configuration["Registry:PublicUrl"] is { Length: > 0 } configured
            ? new Uri(configured.TrimEnd('/'))
            : new Uri(server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Registry:PublicUrl is not set and the server has no address yet"));

    public string TokenRealm => new Uri(BaseUrl, "/oauth2/token").AbsoluteUri;
}
