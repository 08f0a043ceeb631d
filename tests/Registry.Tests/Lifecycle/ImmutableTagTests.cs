using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Policies;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// Immutability rules (<c>registry-admin policy immutable</c>): a tag a rule covers is created once, then refused
/// every move and delete with 403 DENIED naming the rule; other tags of the repository move as before. Rules are added
/// through the fixture's own instance, which applies them at once (another instance within 10 seconds).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class ImmutableTagTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private ImmutableTags Rules => registry.Services.GetRequiredService<ImmutableTags>();

    private static async Task AssertImmutableAsync(HttpResponseMessage response, string rule)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal("DENIED", error.GetProperty("code").GetString());
        Assert.Contains($"immutable (rule '{rule}')", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImmutableTag_IsCreatedOnce_ThenRefusedEveryMoveAndDelete_WhileOtherTagsMove()
    {
        var repo = RegistryFixture.NewRepository();
        var rule = new ImmutableTagRule(repo, "v*");
        await Rules.AddAsync(rule, "test", CancellationToken.None);
        try
        {
            var release = await _oci.PushImageAsync(repo, "v1.0");
            var other = await _oci.PushImageAsync(repo, "latest");
            var digest = OciTestClient.DigestOf(release);

            await AssertImmutableAsync(await _oci.PutManifestAsync(repo, "v1.0", other), $"v* in {repo}");
            await AssertImmutableAsync(await _oci.PutManifestAsync(repo, $"{OciTestClient.DigestOf(other)}?tag=v1.0", other), $"v* in {repo}");
            await AssertImmutableAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1.0"), $"v* in {repo}");
            await AssertImmutableAsync(await registry.Client.DeleteAsync($"/v2/{repo}/manifests/{digest}"), $"v* in {repo}");
            var rollback = await AdminStorage.RunWithAsync(registry.Storage.ConnectionString, "tag", "rollback", $"{repo}:v1.0", "--to", OciTestClient.DigestOf(other));
            Assert.Equal(1, rollback.ExitCode);
            Assert.Contains("immutable", rollback.Error, StringComparison.Ordinal);
            // Pushing the same manifest again moves nothing; a new tag the rule covers is created once.
            Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v1.0", release)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "v2.0", other)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, "latest", release)).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/latest")).StatusCode);
            Assert.Equal(digest, await TagHistory.CurrentAsync(registry, repo, "v1.0"));
        }
        finally
        {
            Assert.True(await Rules.RemoveAsync(rule, CancellationToken.None));
        }
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.DeleteAsync($"/v2/{repo}/manifests/v1.0")).StatusCode);
    }

    [Fact]
    public async Task PolicyCommands_AddListAndRemoveARule_AndRefuseMalformedPatterns()
    {
        var repo = RegistryFixture.NewRepository();
        Task<CliRun> Admin(params string[] args) => AdminStorage.RunWithAsync(registry.Storage.ConnectionString, args);

        var add = await Admin("policy", "immutable", "add", $"{repo}/*", "release-*");
        Assert.True(add.ExitCode == 0, add.Error);
        Assert.Contains($"{repo}/*\trelease-*", (await Admin("policy", "immutable", "list")).Lines);
        Assert.Equal(0, (await Admin("policy", "immutable", "remove", $"{repo}/*", "release-*")).ExitCode);
        Assert.DoesNotContain($"{repo}/*\trelease-*", (await Admin("policy", "immutable", "list")).Lines);
        Assert.Equal(1, (await Admin("policy", "immutable", "remove", $"{repo}/*", "release-*")).ExitCode);

        var badTag = await Admin("policy", "immutable", "add", repo, "v?");
        Assert.Equal(1, badTag.ExitCode);
        Assert.Contains("is not a tag pattern", badTag.Error, StringComparison.Ordinal);
        Assert.Equal(1, (await Admin("policy", "immutable", "add", "Not A Repo", "v*")).ExitCode);
    }

    [Theory]
    [InlineData("v*", "v1.2.3", true)]
    [InlineData("v*", "1.2.3", false)]
    [InlineData("*-release", "2024-release", true)]
    [InlineData("*-release", "release", false)]
    [InlineData("a*b*c", "aXbYc", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("ab*ba", "aba", false)]
    [InlineData("latest", "latest", true)]
    [InlineData("latest", "latest2", false)]
    [InlineData("*", "anything", true)]
    public void TagPattern_StarMatchesAnyRun(string pattern, string tag, bool matches)
    {
        Assert.True(RepositoryName.TryParse("prod/app", out var repository));
        Assert.True(Tag.TryParse(tag, out var parsed));
        Assert.Null(new ImmutableTagRule("prod/*", pattern).Problem());
        Assert.Equal(matches, new ImmutableTagRule("prod/*", pattern).Matches(repository, parsed));
        Assert.False(new ImmutableTagRule("staging/*", pattern).Matches(repository, parsed));
    }
}
