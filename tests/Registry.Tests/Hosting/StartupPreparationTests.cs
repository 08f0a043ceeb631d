using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Startup;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Hosting;

/// <summary>
/// The registry listens before its storage is prepared (tables, signing key, owner): the <c>/v2/</c> challenge is
/// answered at once, whatever needs storage waits for the preparation, and a failed preparation means 503 until a
/// later request prepares it again.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed partial class StartupPreparationTests(RegistryFixture registry)
{
    /// <summary>Holds every storage call until <see cref="Release"/>.</summary>
    private sealed class HeldStorage : HttpPipelinePolicy
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            await _released.Task;
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            _released.Task.Wait();
            ProcessNext(message, pipeline);
        }
    }

    [Fact]
    public async Task WhilePreparationIsPending_V2AnswersTheChallenge_AndATokenRequestWaitsForIt()
    {
        var held = new HeldStorage();
        try
        {
            await using var instance = await ExtraRegistry.StartAsync(registry.Storage, [],
                builder => builder.Services.AddSingleton<HttpPipelinePolicy>(held), waitForStorage: false);
            var preparation = instance.Services.GetRequiredService<StartupPreparation>();
            using var client = instance.AnonymousClient();

            var v2 = await client.GetAsync("/v2/");
            Assert.Equal(HttpStatusCode.Unauthorized, v2.StatusCode);
            Assert.StartsWith("Bearer realm=", v2.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.False(preparation.IsPrepared);

            var token = client.SendAsync(OwnerTokenRequest());
            held.Release();
            Assert.Equal(HttpStatusCode.OK, (await token).StatusCode);
            Assert.True(preparation.IsPrepared);
        }
        finally
        {
            held.Release();
        }
    }

    [Fact]
    public async Task WhenPreparationFails_V2StillChallenges_HealthAndWhatNeedsStorageAnswer503_AndTheNextRequestPreparesAgain()
    {
        var outage = new StorageOutage { Failing = true };
        await using var instance = await ExtraRegistry.StartAsync(registry.Storage, ["--Storage:MaxRetries=0"],
            builder => builder.Services.AddSingleton<HttpPipelinePolicy>(outage), waitForStorage: false);
        using var client = instance.AnonymousClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v2/")).StatusCode);
        var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        using (var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()))
        {
            Assert.False(body.RootElement.GetProperty("storage").GetProperty("prepared").GetBoolean());
        }
        using var login = new HttpRequestMessage(HttpMethod.Get, "/v2/") { Headers = { Authorization = OwnerBasic() } };
        var requests = new[]
        {
            OwnerTokenRequest(),
            login,
            new HttpRequestMessage(HttpMethod.Get, $"/v2/{RegistryFixture.NewRepository()}/tags/list"),
        };
        foreach (var request in requests)
        {
            using var response = await client.SendAsync(request);
            await OciTestClient.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
            Assert.NotNull(response.Headers.RetryAfter);
        }

        outage.Failing = false;
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(OwnerTokenRequest())).StatusCode);
        Assert.True(instance.Services.GetRequiredService<StartupPreparation>().IsPrepared);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task FirstStartOnFreshStorage_PrintsAGeneratedOwnerPasswordOnce_ThatLogsIn()
    {
        var prefix = "fresh" + Guid.NewGuid().ToString("N")[..10];
        var (firstOutput, firstLogin) = await RunHostAsync(prefix, password: null);
        var printed = OwnerLine().Match(firstOutput);
        Assert.True(printed.Success, "no owner credential line in:\n" + firstOutput);
        Assert.Equal(HttpStatusCode.Unauthorized, firstLogin);

        var (secondOutput, secondLogin) = await RunHostAsync(prefix, printed.Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, secondLogin);
        Assert.DoesNotContain("Owner credential created", secondOutput, StringComparison.Ordinal);
    }

    /// <summary>
    /// Starts the built host on tables and a container named <paramref name="prefix"/> without an owner password
    /// configured, logs in as the owner with <paramref name="password"/> (a wrong one when null) once the registry
    /// answers, and stops it: what it printed, and the login's status.
    /// </summary>
    private async Task<(string Output, HttpStatusCode Login)> RunHostAsync(string prefix, string? password)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Registry.Host.dll") },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["Storage__ConnectionString"] = registry.Storage.ConnectionString,
                ["Storage__BlobContainer"] = prefix,
                ["Storage__RepositoriesTable"] = prefix + "repositories",
                ["Storage__BlobsTable"] = prefix + "blobs",
                ["Storage__AuthTable"] = prefix + "auth",
                ["Storage__AuditTable"] = prefix + "audit",
                ["Storage__PoliciesTable"] = prefix + "policies",
                ["Registry__Port"] = port.ToString(CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
                ["Jobs__InProcess"] = "false",
            },
        };
        start.Environment.Remove("Auth__AdminPassword");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        HttpStatusCode? login = null;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            for (var attempt = 0; attempt < 240 && login is null && !process.HasExited; attempt++)
            {
                try
                {
                    // The token endpoint waits for the preparation, which creates the owner and prints its password.
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry")
                    {
                        Headers = { Authorization = Basic(RegistryFixture.AdminName, password ?? "not-the-generated-one") },
                    };
                    login = (await http.SendAsync(request)).StatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(250);
                }
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            await process.WaitForExitAsync();
        }
        var output = await stdout + await stderr;
        Assert.True(login is not null, "the registry did not answer:\n" + output);
        return (output, login.Value);
    }

    private static HttpRequestMessage OwnerTokenRequest() =>
        new(HttpMethod.Get, "/oauth2/token?service=registry") { Headers = { Authorization = OwnerBasic() } };

    private static AuthenticationHeaderValue OwnerBasic() => Basic(RegistryFixture.AdminName, RegistryFixture.AdminPassword);

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex("Owner credential created \\(shown once, store it now\\): user 'admin', password '([^']+)'")]
    private static partial Regex OwnerLine();
}
