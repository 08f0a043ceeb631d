using System.Security.Cryptography;
using System.Text.Json;

namespace Registry.Benchmarks.Load;

internal static class Digests
{
    public static string Of(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));
}

/// <summary>A content descriptor: what a manifest says about a blob.</summary>
internal sealed record BlobRef(string Digest, long Size);

/// <summary>OCI image manifests and configs as the harness pushes them.</summary>
internal static class ImageManifest
{
    public const string MediaType = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>A small image config, made unique by <paramref name="nonce"/> so every image is new content.</summary>
    public static byte[] Config(string nonce) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["architecture"] = "amd64", ["os"] = "linux", ["nonce"] = nonce });

    public static byte[] Build(BlobRef config, IEnumerable<BlobRef> layers)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 2);
            json.WriteString("mediaType", MediaType);
            WriteDescriptor(json, "config", "application/vnd.oci.image.config.v1+json", config);
            json.WriteStartArray("layers");
            foreach (var layer in layers)
            {
                WriteDescriptor(json, null, "application/vnd.oci.image.layer.v1.tar+gzip", layer);
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void WriteDescriptor(Utf8JsonWriter json, string? property, string mediaType, BlobRef blob)
    {
        if (property is null)
        {
            json.WriteStartObject();
        }
        else
        {
            json.WriteStartObject(property);
        }
        json.WriteString("mediaType", mediaType);
        json.WriteString("digest", blob.Digest);
        json.WriteNumber("size", blob.Size);
        json.WriteEndObject();
    }
}
