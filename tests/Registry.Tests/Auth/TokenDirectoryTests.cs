using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Registry.Auth;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Auth;

/// <summary>
/// Registry tokens are checked from memory (<see cref="TokenDirectory"/>): a login needs no storage call, a change
/// made elsewhere shows within <c>Auth:TokenStateCache</c> (5 s), and a new password works at once.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TokenDirectoryTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private readonly CallCounter _calls = new();
    private string _name = null!;
    private ExtraRegistry _instance = null!;
    private HttpClient _client = null!;

    private RegistryTokens Tokens => registry.Services.GetRequiredService<RegistryTokens>();

    public async Task InitializeAsync()
    {
        // Created before the instance starts, so its start reads it with every other token.
        _name = "d" + Guid.NewGuid().ToString("N")[..12];
        await Tokens.SaveAsync(new RegistryToken(_name, [PasswordHasher.Hash("first")], [new AccessRule("*", [Actions.Pull])], true, null), CancellationToken.None);
        _instance = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false", "--Jobs:InProcess=false"], builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(_clock);
            builder.Services.AddSingleton<Azure.Core.Pipeline.HttpPipelinePolicy>(_calls);
        });
        _client = _instance.AnonymousClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _instance.DisposeAsync();
    }

    [Fact]
    public async Task Login_OfATokenReadAtStart_CostsNoStorageCall()
    {
        var before = _calls.Count;
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        Assert.Equal(before, _calls.Count);
    }

    [Fact]
    public async Task PasswordRotatedElsewhere_NewOneWorksAtOnce_OldOneWithinFiveSeconds()
    {
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        var token = (await Tokens.FindAsync(_name, CancellationToken.None))!;
        await Tokens.SaveAsync(token with { PasswordHashes = [PasswordHasher.Hash("second")] }, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, await LoginAsync("second"));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync("first"));
    }

    [Fact]
    public async Task DisabledElsewhere_StillTrustedForUnderFiveSeconds_RefusedAfter()
    {
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        var token = (await Tokens.FindAsync(_name, CancellationToken.None))!;
        await Tokens.SaveAsync(token with { Enabled = false }, CancellationToken.None);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync("first"));
    }

    [Fact]
    public async Task TokenInUse_IsReadAgainInTheBackground_OnceHalfItsTrustedTimeHasPassed()
    {
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        var before = _calls.Count;
        _clock.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        for (var wait = 0; wait < 100 && _calls.Count == before; wait++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(before + 1, _calls.Count);

        // Renewed: two seconds later the entry is young again, and nothing is read.
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("first"));
        await Task.Delay(100);
        Assert.Equal(before + 1, _calls.Count);
    }

    [Fact]
    public async Task TokenCreatedAfterStart_IsFoundInStorage()
    {
        var name = "n" + Guid.NewGuid().ToString("N")[..12];
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync("new", name));
        await Tokens.SaveAsync(new RegistryToken(name, [PasswordHasher.Hash("new")], [new AccessRule("*", [Actions.Pull])], true, null), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, await LoginAsync("new", name));
    }

    private async Task<HttpStatusCode> LoginAsync(string password, string? name = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry&scope=repository:any/repo:pull");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{name ?? _name}:{password}")));
        using var response = await _client.SendAsync(request);
        return response.StatusCode;
    }
}
