using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Audit;
using Registry.Storage.Audit;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Audit;

/// <summary>The audit log answers "who pushed, pulled, deleted or was denied, when, from where".</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class AuditLogTests(RegistryFixture registry)
{
    private async Task<List<AuditEntry>> EntriesAsync(string repository, int atLeast)
    {
        var log = registry.Services.GetRequiredService<AuditLog>();
        var since = DateTimeOffset.UtcNow.AddMinutes(-10);
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var entries = new List<AuditEntry>();
            await foreach (var entry in log.QueryAsync(since, DateTimeOffset.UtcNow.AddMinutes(1), repository, null, CancellationToken.None))
            {
                entries.Add(entry);
            }
            if (entries.Count >= atLeast)
            {
                return entries;
            }
            await Task.Delay(100); // records are written once each response is complete
        }
        throw new Xunit.Sdk.XunitException($"fewer than {atLeast} audit entries for {repository}");
    }

    [Fact]
    public async Task PushPullDeleteAndDenial_AreRecordedWithActorAddressAndResult_AndNoSecret()
    {
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        Assert.Equal(HttpStatusCode.OK, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await registry.Anonymous.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1")).StatusCode);

        var entries = await EntriesAsync(repo, 4);
        var push = Assert.Single(entries, e => e.Action == "push");
        Assert.Equal("admin", push.Actor);
        Assert.Equal("v1", push.Reference);
        Assert.Equal(201, push.Status);
        Assert.Equal("127.0.0.1", push.ClientIp);
        Assert.Contains(entries, e => e is { Action: "pull", Actor: "admin", Status: 200 });
        Assert.Contains(entries, e => e is { Action: "pull-denied", Actor: "anonymous", Status: 401 });
        Assert.Contains(entries, e => e is { Action: "delete", Actor: "admin", Status: 202 });
        Assert.True(entries.SequenceEqual(entries.OrderBy(e => e.At)), "entries come oldest first");
        Assert.DoesNotContain(entries, e => $"{e}".Contains(RegistryFixture.AdminPassword, StringComparison.Ordinal));
    }

    [Fact]
    public async Task FailedLogin_IsRecordedUnderTheNameTried_WithoutThePassword()
    {
        var name = "nobody" + Guid.NewGuid().ToString("N")[..8];
        const string password = "a-secret-that-must-not-leak";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry&password=" + password);
        request.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{name}:{password}")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await registry.Anonymous.SendAsync(request)).StatusCode);
        var log = registry.Services.GetRequiredService<AuditLog>();
        AuditEntry? found = null;
        for (var attempt = 0; attempt < 50 && found is null; attempt++)
        {
            await foreach (var entry in log.QueryAsync(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(1), null, name, CancellationToken.None))
            {
                found = entry;
            }
            await Task.Delay(100);
        }
        Assert.NotNull(found);
        Assert.Equal("token-denied", found.Action);
        Assert.DoesNotContain(password, found.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecordsQueuedWhenAnInstanceStops_AreWrittenBeforeItExits()
    {
        var repo = RegistryFixture.NewRepository();
        await new OciTestClient(registry.Client).PushImageAsync(repo, "v1");
        await using (var instance = await ExtraRegistry.StartAsync(registry.Storage, []))
        {
            using var client = instance.OwnerClient();
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
            }
        }
        // The instance is gone; its five pulls were written by the stop, not lost with the process.
        var log = registry.Services.GetRequiredService<AuditLog>();
        var pulls = 0;
        await foreach (var entry in log.QueryAsync(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddMinutes(1), repo, null, CancellationToken.None))
        {
            pulls += entry.Action == "pull" ? 1 : 0;
        }
        Assert.Equal(5, pulls);
    }
}
