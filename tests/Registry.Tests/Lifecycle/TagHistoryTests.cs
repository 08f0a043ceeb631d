using System.Net;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Every move of a tag (a push that points it elsewhere, a DELETE of it or of its manifest, a rollback) is recorded in
/// the move's own transaction with what it replaced; <c>GET /v2/&lt;name&gt;/_history/tags/&lt;tag&gt;</c> and
/// <c>registry-admin tag history</c> list it, <c>registry-admin tag rollback</c> points the tag back.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TagHistoryTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private Task<CliRun> AdminAsync(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

    [Fact]
    public async Task EveryMove_IsListedNewestFirst_WithWhatItReplaced_AndARepeatedPushIsNoMove()
    {
        var repo = RegistryFixture.NewRepository();
        var first = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "app"));
        var second = await _oci.PushImageAsync(repo, "other");
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "app", second)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "app", second)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/app")).StatusCode);

        var moves = await TagHistory.GetAsync(registry.Client, repo, "app");
        var secondDigest = OciTestClient.DigestOf(second);
        Assert.Equal(
            [new("delete", null, secondDigest, "admin"), new("push", secondDigest, first, "admin"), new("push", first, null, "admin")],
            moves);

        var cli = await AdminAsync("tag", "history", $"{repo}:app");
        Assert.Equal(0, cli.ExitCode);
        Assert.Equal("time\taction\tfrom\tto\tactor", cli.Lines[0]);
        Assert.EndsWith($"\tdelete\t{secondDigest}\t-\tadmin", cli.Lines[1]);
        Assert.EndsWith($"\tpush\t-\t{first}\tadmin", cli.Lines[3]);
    }

    [Fact]
    public async Task DeleteOfAManifest_RecordsTheRemovalOfEachOfItsTags()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "a");
        await _oci.PutManifestAsync(repo, "b", manifest);
        var digest = OciTestClient.DigestOf(manifest);
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}")).StatusCode);

        foreach (var tag in new[] { "a", "b" })
        {
            Assert.Equal([new("delete", null, digest, "admin"), new("push", digest, null, "admin")], await TagHistory.GetAsync(registry.Client, repo, tag));
        }
    }

    [Fact]
    public async Task ConcurrentPushesOfOneTag_LeaveAnUnbrokenChain_EndingWhereTheTagPoints()
    {
        var repo = RegistryFixture.NewRepository();
        var manifests = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _oci.PushImageAsync(repo, $"m{i}")));
        var puts = await Task.WhenAll(manifests.Select(m => _oci.PutManifestAsync(repo, "contended", m)));
        Assert.All(puts, put => Assert.Equal(HttpStatusCode.Created, put.StatusCode));

        var moves = await TagHistory.GetAsync(registry.Client, repo, "contended");
        // Each push moved the tag once, from exactly where the previous move left it.
        Assert.Equal(8, moves.Count);
        Assert.Equal(await TagHistory.CurrentAsync(registry, repo, "contended"), moves[0].Digest);
        // The instance that took all eight pushes serves what storage has, not whichever push finished last.
        Assert.Equal(moves[0].Digest, OciTestClient.DigestOf(await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/contended")));
        for (var i = 0; i < moves.Count - 1; i++)
        {
            Assert.Equal(moves[i + 1].Digest, moves[i].Previous);
        }
        Assert.Null(moves[^1].Previous);
        Assert.Equal(manifests.Select(OciTestClient.DigestOf).Order(), moves.Select(m => m.Digest!).Order());
    }

    [Fact]
    public async Task Rollback_PointsTheTagBack_AsAMoveOfItsOwn_ByStepsOrToADigest()
    {
        var repo = RegistryFixture.NewRepository();
        var one = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "1"));
        var two = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "2"));
        var three = await _oci.PushImageAsync(repo, "3");
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "prod", await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/2"))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "prod", three)).StatusCode);

        var back = await AdminAsync("tag", "rollback", $"{repo}:prod");
        Assert.True(back.ExitCode == 0, back.Error);
        Assert.Equal(two, await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Equal(new ListedMove("rollback", two, OciTestClient.DigestOf(three), "cli:" + Environment.UserName), (await TagHistory.GetAsync(registry.Client, repo, "prod"))[0]);

        Assert.Equal(0, (await AdminAsync("tag", "rollback", $"{repo}:prod", "--to", one)).ExitCode);
        Assert.Equal(one, await TagHistory.CurrentAsync(registry, repo, "prod"));
        // Two moves ago (before the rollback to :2) it pointed at :3.
        Assert.Equal(0, (await AdminAsync("tag", "rollback", $"{repo}:prod", "--steps", "2")).ExitCode);
        Assert.Equal(OciTestClient.DigestOf(three), await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Equal(5, (await TagHistory.GetAsync(registry.Client, repo, "prod")).Count);

        var audit = await AdminAsync("audit", "--since", "1h");
        Assert.Contains(audit.Lines, line => line.Contains("admin:tag-rollback", StringComparison.Ordinal) && line.Contains($"{repo}:prod -> {one}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rollback_ToWhatTheRepositoryDoesNotHold_OrWithNoHistory_FailsAndChangesNothing()
    {
        var repo = RegistryFixture.NewRepository();
        var only = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "prod"));

        var nothingBefore = await AdminAsync("tag", "rollback", $"{repo}:prod");
        Assert.Equal(1, nothingBefore.ExitCode);
        Assert.Contains("nothing to roll back to", nothingBefore.Error, StringComparison.Ordinal);

        var unknown = await AdminAsync("tag", "rollback", $"{repo}:prod", "--to", "sha256:" + new string('0', 64));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("is not a manifest of repository", unknown.Error, StringComparison.Ordinal);

        Assert.Equal(1, (await AdminAsync("tag", "rollback", $"{repo}@{only}")).ExitCode);
        Assert.Equal(1, (await AdminAsync("tag", "rollback", $"{repo}:prod", "--to", only, "--steps", "1")).ExitCode);
        Assert.Equal(only, await TagHistory.CurrentAsync(registry, repo, "prod"));
        Assert.Single(await TagHistory.GetAsync(registry.Client, repo, "prod"));
    }

    [Fact]
    public async Task Rollback_OfADeletedTag_BringsItBack()
    {
        var repo = RegistryFixture.NewRepository();
        var digest = OciTestClient.DigestOf(await _oci.PushImageAsync(repo, "gone"));
        await _oci.PutManifestAsync(repo, "keep", await registry.Client.GetByteArrayAsync($"/v2/{repo}/manifests/gone"));
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/gone")).StatusCode);

        Assert.Equal(0, (await AdminAsync("tag", "rollback", $"{repo}:gone")).ExitCode);
        Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, "gone"));
    }

    [Fact]
    public async Task History_OfAnUnknownTag_Is404_AndAsksForPull()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "known");
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/_history/tags/unknown"), HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await OciTestClient.AssertErrorAsync(await registry.Client.GetAsync($"/v2/{repo}/_history/tags/-invalid"), HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        var anonymous = await registry.Anonymous.GetAsync($"/v2/{repo}/_history/tags/known");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains($"repository:{repo}:pull", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        await OciTestClient.AssertErrorAsync(await registry.Client.DeleteAsync($"/v2/{repo}/_history/tags/known"), HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
    }
}
