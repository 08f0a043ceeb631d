using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Jobs;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Replication;

/// <summary>
/// One login in every region: a registry token created at the primary logs in at the replica once the
/// <c>replicate-credentials</c> job ran, and no longer once it was deleted at the primary and the job ran again; with
/// the signing key both regions are configured with, a token the primary issued is accepted by the replica.
/// </summary>
public sealed class CredentialMirrorTests : IAsyncLifetime
{
    private ReplicatedPair _pair = null!;

    public async Task InitializeAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = key.ExportPkcs8PrivateKeyPem().ReplaceLineEndings("\n");
        // The token state is read from storage on every login here, so a revocation is seen at the next run.
        _pair = await ReplicatedPair.StartAsync(replicaSettings: ["--Auth:TokenStateCache=00:00:00"], bothSettings: [$"--Auth:SigningKeyPem={pem}"]);
    }

    public async Task DisposeAsync() => await _pair.DisposeAsync();

    private Task<JobReport> MirrorAsync() =>
        _pair.Replica.Services.GetServices<IScheduledJob>().Single(j => j.Name == "replicate-credentials").RunAsync(CancellationToken.None);

    private static async Task<HttpStatusCode> LoginAsync(ExtraRegistry registry, string user, string password)
    {
        using var client = registry.AnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry&scope=repository:app:pull");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task TokenCreatedAtThePrimary_LogsInAtTheReplicaAfterTheMirror_AndNotOnceDeletedThere()
    {
        var name = AdminStorage.NewTokenName("geo");
        var created = await AdminStorage.RunWithAsync(_pair.Storage.ConnectionString, "token", "create", name, "--scope", "app=pull");
        Assert.Equal(0, created.ExitCode);
        var password = Assert.Single(created.Lines);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(_pair.Replica, name, password));

        var first = await MirrorAsync();
        Assert.Equal("completed", first.Status);
        Assert.DoesNotContain("another key", first.Summary, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await LoginAsync(_pair.Replica, name, password));
        Assert.Matches(@"^0 credential rows copied from the primary, 0 removed, \d+ unchanged$", (await MirrorAsync()).Summary);

        Assert.Equal(0, (await AdminStorage.RunWithAsync(_pair.Storage.ConnectionString, "token", "delete", name)).ExitCode);
        Assert.Contains("1 removed", (await MirrorAsync()).Summary, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginAsync(_pair.Replica, name, password));
    }

    [Fact]
    public async Task TokenIssuedByThePrimary_IsAcceptedByTheReplica()
    {
        using var primary = _pair.Primary.AnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry&scope=repository:app:pull");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}")));
        using var issued = await primary.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        var token = JsonDocument.Parse(await issued.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString();

        using var replica = _pair.Replica.AnonymousClient();
        using var pull = new HttpRequestMessage(HttpMethod.Get, "/v2/app/tags/list");
        pull.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var answer = await replica.SendAsync(pull);
        // Authenticated and authorized: the repository is merely unknown.
        Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
    }

    [Fact]
    public async Task OnAnInstanceThatIsNoReplica_TheJobDoesNothing()
    {
        var report = await _pair.Primary.Services.GetServices<IScheduledJob>().Single(j => j.Name == "replicate-credentials").RunAsync(CancellationToken.None);
        Assert.Equal("not-configured", report.Status);
    }
}
