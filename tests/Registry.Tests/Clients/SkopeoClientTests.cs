using System.Net;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

[Collection(RealClientsGroup.Name)]
public sealed class SkopeoClientTests(RegistryProcess registry)
{
    [Fact]
    public async Task SkopeoCopy_FromOciLayoutToRegistryAndBack_KeepsManifestDigestAndLayerBytes()
    {
        using var temp = new TemporaryDirectory();
        var source = OciLayout.Create(temp.Combine("source"));
        var image = source.AddImage("linux", "amd64");
        source.Tag(image, "v1");
        var remote = $"docker://{registry.Address}/skopeo/app:v1";
        var copy = new OciLayout(temp.Combine("copy"));

        await Skopeo.Push(source.Reference("v1"), remote);
        await Skopeo.Pull(remote, copy.Reference("x"));

        var digest = image["digest"]!.GetValue<string>();
        Assert.Equal(digest, await RegistryManifests.DigestAsync(registry.Client, HttpMethod.Head, "skopeo/app", "v1"));
        Assert.Equal(digest, copy.Tagged("x")["digest"]!.GetValue<string>());
        Assert.Equal(source.ReadOnlyLayer(digest), copy.ReadOnlyLayer(digest));
    }

    [Fact]
    public async Task SkopeoCopyAll_OfAMultiArchIndex_IsServedByteIdenticalAndPullsWithCtrAndSkopeo()
    {
        var docker = await DockerEngine.StartAsync();
        using var temp = new TemporaryDirectory();
        var source = OciLayout.Create(temp.Combine("source"));
        var index = source.AddIndex(source.AddImage("linux", "amd64"), source.AddImage("linux", "arm64"));
        source.Tag(index, "multi");
        var indexDigest = index["digest"]!.GetValue<string>();
        var reference = $"{registry.Address}/multi/app:1";
        var copy = new OciLayout(temp.Combine("copy"));

        await Skopeo.Push(source.Reference("multi"), "docker://" + reference, "--all");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/multi/app/manifests/1");
        request.Headers.Accept.ParseAdd(OciTestClient.OciIndex);
        using var response = await registry.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(source.ReadBlob(indexDigest), await response.Content.ReadAsByteArrayAsync());

        await docker.Ctr("images", "pull", "--plain-http", "--user", RegistryProcess.Credentials, "--all-platforms", reference);
        Assert.Contains(indexDigest, await docker.Ctr("images", "ls", "name==" + reference), StringComparison.Ordinal);

        await Skopeo.Pull("docker://" + reference, copy.Reference("back"), "--all");
        Assert.Equal(indexDigest, copy.Tagged("back")["digest"]!.GetValue<string>());
    }
}
