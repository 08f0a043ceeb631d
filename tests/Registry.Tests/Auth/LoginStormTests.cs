using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>docs/reliability.md row 46: repeated wrong passwords from one client. A registry of its own, so its throttle starts clean.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class LoginStormTests(RegistryFixture registry) : IAsyncLifetime
{
    private ExtraRegistry? _registry;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await ExtraRegistry.StartAsync(registry.Storage, []);
        _client = _registry.AnonymousClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry!.DisposeAsync();
    }

    private async Task<HttpResponseMessage> LoginAsync(string password, bool viaTokenEndpoint)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, viaTokenEndpoint ? "/oauth2/token?service=registry" : "/v2/");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{password}")));
        return await _client.SendAsync(request);
    }

    [Fact]
    public async Task Row46_WrongPasswords_Get401_ThenTheAddressGets429WithRetryAfter()
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            var response = await LoginAsync("wrong-" + i, viaTokenEndpoint: i % 2 == 0);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("TOOMANYREQUESTS", await OciTestClient.ErrorCodeAsync(response));
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 without a Retry-After");
            }
        }
        Assert.All(statuses.Take(LoginThrottle.MaxFailures), s => Assert.Equal(HttpStatusCode.Unauthorized, s));
        Assert.All(statuses.Skip(LoginThrottle.MaxFailures), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        // The documented policy is per address: the right password from the same address waits as well.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(RegistryFixture.AdminPassword, viaTokenEndpoint: true)).StatusCode);
    }
}
