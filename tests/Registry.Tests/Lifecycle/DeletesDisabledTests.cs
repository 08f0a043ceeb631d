using System.Net;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Lifecycle;

/// <summary>
/// RELIABILITY row 48: with <c>Registry:DeletesEnabled=false</c>, a DELETE of a tag, of a manifest by digest or of a blob
/// is 405 UNSUPPORTED for every caller, the owner included, and the tag still resolves; an upload may still be cancelled.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class DeletesDisabledTests(RegistryFixture registry)
{
    [Fact]
    public async Task EveryContentDelete_Is405Unsupported_AndTheTagStillResolves()
    {
        await using var locked = await ExtraRegistry.StartAsync(registry.Storage, ["--Registry:DeletesEnabled=false", "--Jobs:InProcess=false"]);
        var oci = new OciTestClient(locked.OwnerClient());
        var repo = RegistryFixture.NewRepository();
        var manifest = await oci.PushImageAsync(repo, "latest");
        var digest = OciTestClient.DigestOf(manifest);
        var layer = (string)System.Text.Json.Nodes.JsonNode.Parse(manifest)!["layers"]![0]!["digest"]!;

        foreach (var path in new[] { $"/v2/{repo}/manifests/latest", $"/v2/{repo}/manifests/{digest}", $"/v2/{repo}/blobs/{layer}" })
        {
            var refused = await oci.Http.DeleteAsync(path);
            await OciTestClient.AssertErrorAsync(refused, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
            Assert.Contains("deletes are disabled", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var resolved = await oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/latest", configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest));
        Assert.Equal(HttpStatusCode.OK, resolved.StatusCode);
        Assert.Equal(digest, resolved.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(HttpStatusCode.OK, (await oci.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{layer}")).StatusCode);
        var upload = await oci.Http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, upload.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await oci.Http.DeleteAsync(upload.Headers.Location)).StatusCode);
    }
}
