using System.Net.Http.Headers;

namespace Registry.Tests.Fixtures;

/// <summary>Sends every request with one fixed Bearer token, following no redirect.</summary>
public sealed class BearerHeader(string token) : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false })
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return base.SendAsync(request, cancellationToken);
    }
}
