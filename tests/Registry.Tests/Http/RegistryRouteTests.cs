using Registry.Http;

namespace Registry.Tests.Http;

public sealed class RegistryRouteTests
{
    [Theory]
    [InlineData("_catalog", RouteKind.Catalog, "", "")]
    [InlineData("a/b/tags/list", RouteKind.Tags, "a/b", "")]
    [InlineData("a/b/manifests/latest", RouteKind.Manifest, "a/b", "latest")]
    [InlineData("a/blobs/uploads/blobs/sha256:x", RouteKind.Blob, "a/blobs/uploads", "sha256:x")]
    [InlineData("a/blobs/uploads/", RouteKind.UploadStart, "a", "")]
    [InlineData("a/blobs/uploads", RouteKind.UploadStart, "a", "")]
    [InlineData("a/manifests/x/blobs/uploads/abc", RouteKind.Upload, "a/manifests/x", "abc")]
    [InlineData("r/referrers/sha256:x", RouteKind.Referrers, "r", "sha256:x")]
    public void Parse_ReadsFromTheRight(string path, RouteKind kind, string name, string argument) =>
        Assert.Equal(new RegistryRoute(kind, name, argument), RegistryRoute.Parse(path));

    [Theory]
    [InlineData("a")]
    [InlineData("a/b")]
    [InlineData("a/manifests/")]
    [InlineData("tags/list")]
    public void Parse_NoEndpoint_IsNull(string path) => Assert.Null(RegistryRoute.Parse(path));
}
