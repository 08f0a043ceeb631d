using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Retention;
using Registry.Storage.Policies;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Retention runs. Images are pushed through the fixture now; the run is made by a second instance whose clock is 40
/// days ahead, so "pushed more than 7 days ago" holds without waiting. Each test sets a policy for its own repository
/// only and runs only over it. A dry run and the real run that follows decide the same set; locked, immutable and
/// graph-reached manifests stay; a tag pushed after it was examined stays.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class RetentionTests(RegistryFixture registry) : IAsyncLifetime
{
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow.AddDays(40));
    private readonly StorageGate _gate = new();
    private readonly OciTestClient _oci = new(registry.Client);
    private ExtraRegistry _later = null!;

    public async Task InitializeAsync() =>
        _later = await ExtraRegistry.StartAsync(registry.Storage, ["--Audit:Enabled=false", "--Jobs:InProcess=false"], builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(_clock);
            builder.Services.AddSingleton<HttpPipelinePolicy>(_gate);
        });

    public async Task DisposeAsync()
    {
        _gate.Release();
        await _later.DisposeAsync();
    }

    private RetentionPolicies Policies => registry.Services.GetRequiredService<RetentionPolicies>();

    private Task<RetentionReport> RunAsync(string repo, bool dryRun) =>
        _later.Services.GetRequiredService<RetentionRunner>().RunAsync(dryRun, repo, CancellationToken.None);

    private static HashSet<string> Deleted(RetentionReport report) =>
        [.. report.Decisions.Where(d => d.Deleted).Select(d => d.Tag is null ? d.Digest.Value : d.Reference)];

    /// <summary>A GET through the instance that ran retention (the fixture's read cache may serve a deleted manifest for 30 s).</summary>
    private async Task<HttpStatusCode> StatusAsync(string repo, string reference)
    {
        using var client = _later.OwnerClient();
        return (await client.GetAsync($"/v2/{repo}/manifests/{reference}")).StatusCode;
    }

    [Fact]
    public async Task SeedPolicy_KeepsTheTenNewestProdTags_DeletesTheRestAndOldUntagged_AndTheDryRunListedExactlyThat()
    {
        var repo = RegistryFixture.NewRepository();
        var prod = new List<string>();
        for (var i = 1; i <= 12; i++)
        {
            prod.Add(OciTestClient.DigestOf(await _oci.PushImageAsync(repo, $"prod-{i}", 16)));
        }
        await _oci.PushImageAsync(repo, "dev-1", 16);
        var untagged = await _oci.PushImageAsync(repo, "scratch", 16);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/scratch")).StatusCode);
        await Policies.SetAsync(new RetentionPolicy(repo, 10, "prod-*", TimeSpan.FromDays(30), null, TimeSpan.FromDays(7)), "test", CancellationToken.None);
        try
        {
            var dry = await RunAsync(repo, dryRun: true);
            var real = await RunAsync(repo, dryRun: false);
            var again = await RunAsync(repo, dryRun: false);

            Assert.Equal(Deleted(dry), Deleted(real));
            Assert.Contains($"{repo}:prod-1", Deleted(real));
            Assert.Contains($"{repo}:prod-2", Deleted(real));
            Assert.Contains($"{repo}:dev-1", Deleted(real));
            Assert.Contains(OciTestClient.DigestOf(untagged), Deleted(real));
            Assert.Contains(prod[0], Deleted(real)); // untagged by this run, and pushed 40 days before it
            Assert.Equal(3 + 4, Deleted(real).Count); // three tags; their three manifests and the one untagged before
            Assert.Empty(Deleted(again));
            Assert.Contains(real.Decisions, d => d.Tag == "prod-3" && !d.Deleted && d.Reason.Contains("10 most recently pushed 'prod-*'", StringComparison.Ordinal));
            for (var i = 3; i <= 12; i++)
            {
                Assert.Equal(HttpStatusCode.OK, await StatusAsync(repo, $"prod-{i}"));
            }
            foreach (var gone in new[] { "prod-1", "prod-2", "dev-1", prod[0], OciTestClient.DigestOf(untagged) })
            {
                Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(repo, gone));
            }
        }
        finally
        {
            await Policies.RemoveAsync(repo, CancellationToken.None);
        }
    }

    [Fact]
    public async Task KeepWithin_KeepsEveryRecentTag_AndKeepTags_KeepsItsPatternWhateverItsAge()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "release-1", 16);
        await _oci.PushImageAsync(repo, "feature-x", 16);
        await Policies.SetAsync(new RetentionPolicy(repo, null, "*", TimeSpan.FromDays(60), null, null), "test", CancellationToken.None);
        try
        {
            Assert.Empty(Deleted(await RunAsync(repo, dryRun: false)));
            await Policies.SetAsync(new RetentionPolicy(repo, null, "*", TimeSpan.FromDays(30), "release-*", null), "test", CancellationToken.None);
            var report = await RunAsync(repo, dryRun: false);
            Assert.Equal([$"{repo}:feature-x"], Deleted(report));
            Assert.Contains(report.Decisions, d => d.Tag == "release-1" && !d.Deleted && d.Reason == "matches 'release-*'");
            // Tags only: the manifest feature-x pointed at stays, as the policy has no untagged rule.
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(repo, report.Decisions.Single(d => d.Deleted).Digest.Value));
        }
        finally
        {
            await Policies.RemoveAsync(repo, CancellationToken.None);
        }
    }

    [Fact]
    public async Task LockedAndImmutableTags_AndLockedManifests_AreNeverDeleted()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "locked", 16);
        await _oci.PushImageAsync(repo, "v1", 16);
        var kept = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "byebye", 16));
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/byebye")).StatusCode);
        Assert.Equal(0, (await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "lock", $"{repo}:locked")).ExitCode);
        Assert.Equal(0, (await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "lock", $"{repo}@{kept}")).ExitCode);
        var rule = new ImmutableTagRule(repo, "v*");
        await _later.Services.GetRequiredService<ImmutableTags>().AddAsync(rule, "test", CancellationToken.None);
        await Policies.SetAsync(new RetentionPolicy(repo, 0, "*", null, null, TimeSpan.FromDays(7)), "test", CancellationToken.None);
        try
        {
            var report = await RunAsync(repo, dryRun: false);
            Assert.Empty(Deleted(report));
            Assert.Contains(report.Decisions, d => d.Tag == "locked" && d.Reason == "locked");
            Assert.Contains(report.Decisions, d => d.Tag == "v1" && d.Reason.StartsWith("immutable", StringComparison.Ordinal));
            Assert.Contains(report.Decisions, d => d.Digest.Value == kept && d.Reason == "untagged, but locked");
        }
        finally
        {
            await Policies.RemoveAsync(repo, CancellationToken.None);
            await _later.Services.GetRequiredService<ImmutableTags>().RemoveAsync(rule, CancellationToken.None);
        }
    }

    [Fact]
    public async Task MultiArchIndex_KeepsItsUntaggedPlatformManifests_AndReferrers_UntilTheIndexGoes_ThenAllGoIndexFirst()
    {
        var repo = RegistryFixture.NewRepository();
        var amd64 = await _oci.PushImageAsync(repo, "amd64-build", 16);
        var arm64 = await _oci.PushImageAsync(repo, "arm64-build", 16);
        var index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["manifests"] = new JsonArray(OciTestClient.Descriptor(OciTestClient.OciManifest, amd64), OciTestClient.Descriptor(OciTestClient.OciManifest, arm64)),
        }.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "multi", index, OciTestClient.OciIndex)).StatusCode);
        var empty = "{}"u8.ToArray();
        await _oci.PushBlobAsync(repo, empty);
        var signature = OciTestClient.ImageManifest(empty, [], OciTestClient.DigestOf(index), index.Length, "application/vnd.example.sig", "application/vnd.oci.empty.v1+json");
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, OciTestClient.DigestOf(signature), signature)).StatusCode);
        // The platform manifests' own tags are not kept: only "multi" is.
        await Policies.SetAsync(new RetentionPolicy(repo, null, "*", null, "multi", TimeSpan.FromDays(7)), "test", CancellationToken.None);
        try
        {
            var first = await RunAsync(repo, dryRun: false);
            Assert.Equal(2, Deleted(first).Count); // the two platform tags, not their manifests
            Assert.Contains(first.Decisions, d => d.Digest.Value == OciTestClient.DigestOf(amd64) && d.Tag is null && d.Reason.StartsWith("untagged, but listed by", StringComparison.Ordinal));
            Assert.Contains(first.Decisions, d => d.Digest.Value == OciTestClient.DigestOf(signature) && d.Reason.Contains("a referrer of", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(repo, OciTestClient.DigestOf(arm64)));

            Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/multi")).StatusCode);
            var dry = await RunAsync(repo, dryRun: true);
            var real = await RunAsync(repo, dryRun: false);
            HashSet<string> all = [OciTestClient.DigestOf(index), OciTestClient.DigestOf(amd64), OciTestClient.DigestOf(arm64)];
            Assert.Equal(all, Deleted(dry));
            Assert.Equal(all, Deleted(real));
            Assert.Equal(OciTestClient.DigestOf(index), real.Decisions.First(d => d.Deleted).Digest.Value);
            foreach (var digest in all)
            {
                Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(repo, digest));
            }
        }
        finally
        {
            await Policies.RemoveAsync(repo, CancellationToken.None);
        }
    }

    [Fact]
    public async Task TagPushedAgainWhileTheRunDeletesIt_Stays()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "old", 16);
        var newer = await _oci.PushImageAsync(repo, "other", 16);
        await Policies.SetAsync(new RetentionPolicy(repo, null, "*", null, "other", null), "test", CancellationToken.None);
        try
        {
            _gate.HoldBefore(StorageGate.IsBatch);
            var run = RunAsync(repo, dryRun: false);
            await _gate.Reached;
            // The run decided to delete "old" and is about to; a push moves it first.
            Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "old", newer)).StatusCode);
            _gate.Release();
            var report = await run;
            Assert.Empty(Deleted(report));
            Assert.Equal(OciTestClient.DigestOf(newer), await TagHistory.CurrentAsync(registry, repo, "old"));
        }
        finally
        {
            await Policies.RemoveAsync(repo, CancellationToken.None);
        }
    }

    [Fact]
    public async Task PolicyCommands_RefuseAPolicyThatKeepsNothing_UnlessForced_AndListWhatIsSet()
    {
        var repo = RegistryFixture.NewRepository();
        Task<CliRun> Admin(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);
        var refused = await Admin("policy", "retention", "set", repo, "--keep-last", "0");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("would delete every tag", refused.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await Admin("policy", "retention", "set", repo)).ExitCode);
        Assert.Equal(1, (await Admin("policy", "retention", "set", repo, "--keep-within", "soon")).ExitCode);
        Assert.Equal(0, (await Admin("policy", "retention", "set", repo, "--keep-last", "0", "--force")).ExitCode);

        var set = await Admin("policy", "retention", "set", repo, "--keep-last", "10", "--keep-last-tags", "prod-*", "--keep-within", "30d", "--delete-untagged-after", "7d");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Contains($"{repo}\tkeep-last=10 of 'prod-*' keep-within=30d delete-untagged-after=7d", (await Admin("policy", "retention", "list")).Lines);
        var dry = await Admin("retention", "run", "--dry-run", "--repo", repo);
        Assert.Equal(0, dry.ExitCode);
        Assert.Equal("decision\treference\tdigest\treason", dry.Lines[0]);
        Assert.StartsWith("dry run: would delete 0 tags", dry.Error, StringComparison.Ordinal);
        Assert.Equal(0, (await Admin("policy", "retention", "remove", repo)).ExitCode);
        Assert.Equal(1, (await Admin("policy", "retention", "remove", repo)).ExitCode);
    }
}
