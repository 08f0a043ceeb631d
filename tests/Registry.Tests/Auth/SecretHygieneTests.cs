using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>
/// docs/reliability.md row 55: after wrong and right logins, a podman-style token request with the password in the
/// query string, and a refresh, no secret appears in any log line (everything captured at Trace level) or error body.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class SecretHygieneTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly CapturedLogs _logs = new();
    private ExtraRegistry? _registry;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await ExtraRegistry.StartAsync(registry.Storage,
            ["--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft.AspNetCore=Trace"],
            builder => builder.Logging.AddProvider(_logs));
        _client = _registry.AnonymousClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry!.DisposeAsync();
    }

    [Fact]
    public async Task Row55_NoPasswordOrTokenReachesTheLogs()
    {
        const string wrong = "wrong-password-should-not-leak";
        using (var bad = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry"))
        {
            bad.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"admin:{wrong}")));
            var response = await _client.SendAsync(bad);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.DoesNotContain(wrong, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var podmanStyle = await _client.PostAsync(
            $"/oauth2/token?grant_type=password&service=registry&username=admin&password={RegistryFixture.AdminPassword}&access_type=offline", null);
        Assert.Equal(HttpStatusCode.OK, podmanStyle.StatusCode);
        var body = System.Text.Json.JsonDocument.Parse(await podmanStyle.Content.ReadAsStringAsync()).RootElement;
        var refresh = body.GetProperty("refresh_token").GetString()!;
        var access = body.GetProperty("token").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync($"/oauth2/token?grant_type=refresh_token&service=registry&refresh_token={refresh}", null)).StatusCode);

        Assert.NotEmpty(_logs.Lines);
        foreach (var secret in new[] { wrong, RegistryFixture.AdminPassword, refresh, access })
        {
            Assert.DoesNotContain(_logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturedLogs owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
        }
    }
}
