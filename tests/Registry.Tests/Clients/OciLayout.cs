using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// An OCI image layout on disk, as skopeo's <c>oci:&lt;dir&gt;:&lt;tag&gt;</c> transport reads and writes it:
/// <c>oci-layout</c>, <c>index.json</c> (a tag is an entry annotated org.opencontainers.image.ref.name) and
/// <c>blobs/sha256/&lt;hex&gt;</c>. The images it writes are small but real: a gzip tar layer holding one random
/// file and a config whose diff_id is that tar's digest, which containerd checks when it unpacks.
/// </summary>
public sealed class OciLayout(string directory)
{
    private const string RefName = "org.opencontainers.image.ref.name";

    public string Directory => directory;

    private string IndexPath => Path.Combine(directory, "index.json");

    /// <summary>The skopeo reference of <paramref name="tag"/> in this layout.</summary>
    public string Reference(string tag) => $"oci:{directory}:{tag}";

    /// <summary>An empty layout in <paramref name="directory"/>.</summary>
    public static OciLayout Create(string directory)
    {
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "blobs", "sha256"));
        File.WriteAllText(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        var layout = new OciLayout(directory);
        layout.WriteIndex([]);
        return layout;
    }

    /// <summary>Stores <paramref name="content"/> and returns its descriptor.</summary>
    public JsonObject AddBlob(string mediaType, byte[] content)
    {
        File.WriteAllBytes(BlobPath(OciTestClient.DigestOf(content)), content);
        return OciTestClient.Descriptor(mediaType, content);
    }

    /// <summary>Stores a one-layer image for the platform; returns the manifest's descriptor, platform included.</summary>
    public JsonObject AddImage(string os, string architecture)
    {
        var tar = PayloadTar();
        var layer = Gzip(tar);
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = architecture,
            ["os"] = os,
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(OciTestClient.DigestOf(tar)) },
            ["config"] = new JsonObject(),
        }.ToJsonString());
        var manifest = OciTestClient.ImageManifest(config, [layer]);
        AddBlob("application/vnd.oci.image.layer.v1.tar+gzip", layer);
        AddBlob("application/vnd.oci.image.config.v1+json", config);
        var descriptor = AddBlob(OciTestClient.OciManifest, manifest);
        descriptor["platform"] = new JsonObject { ["architecture"] = architecture, ["os"] = os };
        return descriptor;
    }

    /// <summary>Stores an OCI image index over <paramref name="manifests"/>; returns its descriptor.</summary>
    public JsonObject AddIndex(params JsonObject[] manifests)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["manifests"] = new JsonArray([.. manifests.Select(m => m.DeepClone())]),
        };
        return AddBlob(OciTestClient.OciIndex, Encoding.UTF8.GetBytes(index.ToJsonString()));
    }

    /// <summary>Points <paramref name="tag"/> at <paramref name="descriptor"/> in index.json.</summary>
    public void Tag(JsonObject descriptor, string tag)
    {
        var entry = (JsonObject)descriptor.DeepClone();
        entry["annotations"] = new JsonObject { [RefName] = tag };
        var manifests = ReadIndex();
        manifests.Add(entry);
        WriteIndex(manifests);
    }

    /// <summary>The descriptor index.json holds for <paramref name="tag"/>; fails the test when there is none.</summary>
    public JsonObject Tagged(string tag)
    {
        var entry = ReadIndex().OfType<JsonObject>().FirstOrDefault(m => m["annotations"]?[RefName]?.GetValue<string>() == tag);
        Assert.True(entry is not null, $"{IndexPath} has no entry for tag {tag}: {File.ReadAllText(IndexPath)}");
        return entry;
    }

    public byte[] ReadBlob(string digest) => File.ReadAllBytes(BlobPath(digest));

    /// <summary>The bytes of the only layer of the image manifest <paramref name="manifestDigest"/>.</summary>
    public byte[] ReadOnlyLayer(string manifestDigest)
    {
        var layers = JsonNode.Parse(ReadBlob(manifestDigest))!["layers"]!.AsArray();
        Assert.Single(layers);
        return ReadBlob(layers[0]!["digest"]!.GetValue<string>());
    }

    private string BlobPath(string digest) => Path.Combine(directory, "blobs", "sha256", digest["sha256:".Length..]);

    private JsonArray ReadIndex() => JsonNode.Parse(File.ReadAllText(IndexPath))!["manifests"]!.AsArray();

    private void WriteIndex(JsonArray manifests)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciIndex,
            ["manifests"] = manifests.DeepClone(),
        };
        File.WriteAllText(IndexPath, index.ToJsonString());
    }

    private static byte[] PayloadTar()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "payload")
            {
                DataStream = new MemoryStream(OciTestClient.RandomBytes(64 * 1024)),
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            });
        }
        return tar.ToArray();
    }

    private static byte[] Gzip(byte[] content)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }
        return compressed.ToArray();
    }
}
