namespace Registry.Benchmarks.Load;

/// <summary>An image as pushed: its manifest and what the manifest names.</summary>
internal sealed record PushedImage(byte[] Manifest, string ManifestDigest, BlobRef Config, IReadOnlyList<BlobRef> Layers);

/// <summary>Pushes whole images as docker does: the layers and the config in parallel (each POST, PATCH, PUT), then the manifest by tag.</summary>
internal static class ImagePusher
{
    /// <param name="seed">Makes the layers and the config: the same seed pushes the same image.</param>
    /// <param name="present">
    /// Layers the repository has already (a base image's), listed first in the manifest: each is checked with a HEAD
    /// and not uploaded again, as docker does.
    /// </param>
    public static async Task<PushedImage> PushAsync(
        OciClient client, string repository, string tag, ulong seed, IReadOnlyList<int> layerSizes, CancellationToken cancellationToken,
        IReadOnlyList<BlobRef>? present = null)
    {
        present ??= [];
        var layers = layerSizes.Select((size, i) => new GeneratedLayer(seed * 64 + (ulong)i, size)).ToList();
        var config = ImageManifest.Config($"{seed}");
        await Task.WhenAll(layers
            .Select(layer => client.PushChunkedAsync(repository, layer, cancellationToken))
            .Append(client.PushChunkedAsync(repository, config, cancellationToken))
            .Concat(present.Select(layer => client.HeadBlobAsync(repository, layer.Digest, cancellationToken))));
        var configRef = new BlobRef(Digests.Of(config), config.Length);
        List<BlobRef> all = [.. present, .. layers.Select(l => new BlobRef(l.Digest, l.Length))];
        var manifest = ImageManifest.Build(configRef, all);
        await client.PutManifestAsync(repository, tag, manifest, cancellationToken);
        return new PushedImage(manifest, Digests.Of(manifest), configRef, all);
    }
}
