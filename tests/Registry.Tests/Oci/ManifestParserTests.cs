using System.Text;
using Registry.Oci;

namespace Registry.Tests.Oci;

public sealed class ManifestParserTests
{
    private const string D1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string D2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    private static ManifestDocument? Parse(string json, string? contentType, out IReadOnlyList<string> problems) =>
        ManifestParser.Parse(Encoding.UTF8.GetBytes(json), contentType, out problems);

    [Fact]
    public void Parse_OciImageManifest_ReadsConfigLayersAndArtifactType()
    {
        var doc = Parse($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}",
             "config":{"mediaType":"application/vnd.example+json","digest":"{{D1}}","size":2},
             "layers":[{"mediaType":"application/octet-stream","digest":"{{D2}}","size":10}],
             "annotations":{"a":"b"} }
            """, MediaTypes.OciManifest, out var problems);
        Assert.Empty(problems);
        Assert.NotNull(doc);
        Assert.Equal(D1, doc.Config!.Digest.Value);
        Assert.Single(doc.Layers);
        Assert.Equal("application/vnd.example+json", doc.ArtifactType);
        Assert.Equal("""{"a":"b"}""", doc.AnnotationsJson);
    }

    [Fact]
    public void Parse_NoMediaTypeInBody_TakesContentType()
    {
        var doc = Parse($$"""{"schemaVersion":2,"manifests":[]}""", MediaTypes.OciIndex + "; charset=utf-8", out _);
        Assert.Equal(MediaTypes.OciIndex, doc!.MediaType);
    }

    [Fact]
    public void Parse_BothLayersAndManifests_IsRejected()
    {
        Assert.Null(Parse($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"a/b","digest":"{{D1}}","size":1},"layers":[],"manifests":[]}""", null, out var problems));
        Assert.Contains(problems, p => p.Contains("both", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MediaTypeContradictingContentType_IsRejected()
    {
        Assert.Null(Parse($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[]}""", MediaTypes.OciManifest, out var problems));
        Assert.Contains(problems, p => p.Contains("contradicts", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ReportsEveryProblem_NotJustTheFirst()
    {
        Assert.Null(Parse($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}",
             "config":{"mediaType":"a/b","digest":"sha256:zz","size":-1},
             "layers":[{"mediaType":"nope","digest":"{{D2}}","size":1}]}
            """, null, out var problems));
        Assert.Contains(problems, p => p.StartsWith("config.digest", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("config.size", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("layers[0].mediaType", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"schemaVersion\":2,")]
    [InlineData("[]")]
    [InlineData("{\"schemaVersion\":1}")]
    public void Parse_Garbage_IsRejected(string json) => Assert.Null(Parse(json, MediaTypes.OciManifest, out _));

    [Fact]
    public void Parse_DeeplyNested_IsRejectedWithoutStackOverflow()
    {
        var json = "{\"schemaVersion\":2,\"x\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        Assert.Null(Parse(json, MediaTypes.OciManifest, out var problems));
        Assert.NotEmpty(problems);
    }

    [Fact]
    public void Parse_MoreDescriptorsThanTheLimit_IsRejected()
    {
        var layer = $$"""{"mediaType":"a/b","digest":"{{D2}}","size":1}""";
        var json = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"a/b","digest":"{{D1}}","size":1},"layers":[{{string.Join(',', Enumerable.Repeat(layer, 50_000))}}]}""";
        Assert.Null(Parse(json, null, out var problems));
        Assert.Contains(problems, p => p.Contains("at most", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_DockerTypeWithoutMediaTypeInBody_IsRejected() =>
        Assert.Null(Parse($$"""{"schemaVersion":2,"manifests":[]}""", MediaTypes.DockerManifestList, out _));

    [Fact]
    public void Parse_UrlsOnALayer_AreRecordedNotFetched()
    {
        var doc = Parse($$"""
            {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}",
             "config":{"mediaType":"a/b","digest":"{{D1}}","size":1},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"{{D2}}","size":1,"urls":["http://169.254.169.254/latest"]}]}
            """, null, out _);
        Assert.True(doc!.Layers[0].HasUrls);
    }

    private static string Image(string extra = "", string layerMediaType = "application/octet-stream") => $$"""
        {"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}",
         "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":2},
         "layers":[{"mediaType":"{{layerMediaType}}","digest":"{{D2}}","size":10}]{{extra}}}
        """;

    [Fact]
    public void Parse_InvalidUtf8InsideAString_IsRejectedBeforeAnyJsonIsRead()
    {
        var body = Encoding.UTF8.GetBytes(Image(""","annotations":{"a":"XY"}""")).ToList();
        body[body.IndexOf((byte)'X')] = 0xFF;
        Assert.Null(ManifestParser.Parse(body.ToArray(), MediaTypes.OciManifest, out var problems));
        Assert.Contains(problems, p => p.Contains("not valid UTF-8", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","m\u0065diaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}""")]
    [InlineData("""{"schemaVersion":2,"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"manifests":[]}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"a":"1","a":"2"}}""")]
    public void Parse_DuplicateKeys_AnywhereInTheDocument_AreRejected(string json)
    {
        Assert.Null(Parse(json, null, out var problems));
        Assert.Contains(problems, p => p.StartsWith("body is not valid JSON", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_DuplicateLayersOrDescriptorKeys_AreRejected()
    {
        Assert.Null(Parse(Image($$""","layers":[]"""), null, out _));
        Assert.Null(Parse(Image().Replace("\"size\":10", $$"""
            "size":10,"digest":"{{D1}}"
            """, StringComparison.Ordinal), null, out _));
    }

    [Theory]
    [InlineData(",\"artifactType\":\"\\ud800\"", "artifactType is not valid Unicode")]
    [InlineData(",\"artifactType\":\"a/b\\u0000\"", "artifactType must be a media type")]
    [InlineData(",\"artifactType\":\"a/b\\u0001c\"", "artifactType must be a media type")]
    [InlineData(",\"artifactType\":\"application/vnd.example+json; version=1\"", "artifactType must be a media type")]
    [InlineData(",\"artifactType\":\"nonsense\"", "artifactType must be a media type")]
    public void Parse_ArtifactTypeOutsideTheGrammar_IsRejected(string extra, string reason)
    {
        Assert.Null(Parse(Image(extra), null, out var problems));
        Assert.Contains(problems, p => p.StartsWith(reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("a/b\\u0000")]
    [InlineData("a/b\\t")]
    [InlineData("application/vnd.oci.image.layer.v1.tar+gzip;x=y")]
    [InlineData("/b")]
    [InlineData("-a/b")]
    public void Parse_LayerMediaTypeOutsideTheGrammar_IsRejected(string mediaType)
    {
        Assert.Null(Parse(Image(layerMediaType: mediaType), null, out var problems));
        Assert.Contains(problems, p => p.StartsWith("layers[0].mediaType must be a media type", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_MediaTypeNames_AreHeldTo127Characters()
    {
        Assert.NotNull(Parse(Image(layerMediaType: "a/" + new string('b', 127)), null, out _));
        Assert.Null(Parse(Image(layerMediaType: "a/" + new string('b', 128)), null, out _));
        Assert.True(MediaTypes.IsWellFormed("application/vnd.docker.image.rootfs.diff.tar.gzip"));
        Assert.True(MediaTypes.IsWellFormed("application/vnd.dev.sigstore.bundle.v0.3+json"));
    }

    [Fact]
    public void Parse_EmptyArtifactType_MeansNone_SoTheConfigTypeIsReported()
    {
        var doc = Parse(Image(",\"artifactType\":\"\""), null, out var problems);
        Assert.Empty(problems);
        Assert.Equal("application/vnd.oci.image.config.v1+json", doc!.ArtifactType);
    }

    [Fact]
    public void Parse_LargeAnnotations_AreRefusedOnlyWithASubject()
    {
        var annotations = $$""","annotations":{"pad":"{{new string('x', ManifestParser.MaxReferrerAnnotationsLength)}}"}""";
        Assert.NotNull(Parse(Image(annotations), null, out _));
        var subject = $$""","subject":{"mediaType":"{{MediaTypes.OciManifest}}","digest":"{{D1}}","size":1}""";
        Assert.Null(Parse(Image(subject + annotations), null, out var problems));
        Assert.Contains(problems, p => p.Contains("annotations", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("application/json")]
    [InlineData("Application/JSON; charset=utf-8")]
    [InlineData("application/vnd.oci.image.manifest.v1+json; charset=utf-8")]
    [InlineData("APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON")]
    public void Parse_ContentTypeThatAgreesWithTheBody_OrIsGenericJson_IsAccepted_WithTheBodysType(string? contentType)
    {
        var doc = Parse(Image(), contentType, out var problems);
        Assert.Empty(problems);
        Assert.Equal(MediaTypes.OciManifest, doc!.MediaType);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/vnd.oci.image.manifest.v1+json, text/plain")]
    [InlineData("; charset=utf-8")]
    public void Parse_ContentTypeThatIsNotAManifestType_IsRejected(string contentType)
    {
        Assert.Null(Parse(Image(), contentType, out var problems));
        Assert.Contains(problems, p => p.StartsWith("Content-Type", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_GenericJsonWithoutAMediaTypeInTheBody_IsRejected()
    {
        Assert.Null(Parse("""{"schemaVersion":2,"manifests":[]}""", "application/json", out var problems));
        Assert.Contains(problems, p => p.Contains("must carry its mediaType", StringComparison.Ordinal));
    }
}
