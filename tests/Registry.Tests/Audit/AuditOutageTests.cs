using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Audit;
using Registry.Auth;
using Registry.Storage.Audit;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Audit;

/// <summary>
/// Audit records made while storage is down (a token issued from memory, a pull answered from the read cache) are
/// kept and written once storage is back, not dropped (docs/reliability.md row F6).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class AuditOutageTests(RegistryFixture registry)
{
    [Fact]
    public async Task RecordsMadeDuringAnOutage_AreWrittenWhenStorageReturns()
    {
        // A token of its own, known to the instance from its start, so its records are told apart from other tests'.
        var user = "audit" + Guid.NewGuid().ToString("N")[..10];
        await registry.Services.GetRequiredService<RegistryTokens>().SaveAsync(
            new RegistryToken(user, [PasswordHasher.Hash("pw-" + user)], [], true, null), CancellationToken.None);
        var outage = new StorageOutage();
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage,
            ["--Storage:MaxRetries=0", "--Auth:TokenStateCache=00:10:00", "--Cache:Tags=00:10:00", "--Jobs:InProcess=false"],
            builder => builder.Services.AddSingleton<HttpPipelinePolicy>(outage));
        using var owner = instance.OwnerClient();
        using var anonymous = instance.AnonymousClient();
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(owner).PushImageAsync(repo, "v1");
        var since = DateTimeOffset.UtcNow.AddMinutes(-1);
        var writer = instance.Services.GetRequiredService<AuditWriter>();
        await WaitForAsync(() => writer.Held == 0, "the push's records to be written");

        outage.Failing = true;
        using var token = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:pw-{user}"))) },
        };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        await WaitForAsync(() => writer.Held >= 2, "the token's and the pull's records to be queued");
        // The writer's next write holds them, and storage refuses it: from then on only a retry can store them.
        await outage.NextRefusedBatch().WaitAsync(TimeSpan.FromSeconds(30));
        outage.Failing = false;

        var log = registry.Services.GetRequiredService<AuditLog>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        bool tokenFound = false, pullFound = false;
        while (!(tokenFound && pullFound))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"after 60 s: token record {tokenFound}, pull record {pullFound}");
            await foreach (var entry in log.QueryAsync(since, DateTimeOffset.UtcNow.AddMinutes(1), null, user, CancellationToken.None))
            {
                tokenFound |= entry is { Action: "token", Status: 200 };
            }
            await foreach (var entry in log.QueryAsync(since, DateTimeOffset.UtcNow.AddMinutes(1), repo, null, CancellationToken.None))
            {
                pullFound |= entry is { Action: "pull", Status: 200 };
            }
            if (!(tokenFound && pullFound))
            {
                await Task.Delay(200); // polling the table, bounded by the deadline above
            }
        }
        await WaitForAsync(() => writer.Held == 0, "the queue to drain");
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"waited 30 s for {what}");
            await Task.Delay(20);
        }
    }
}
