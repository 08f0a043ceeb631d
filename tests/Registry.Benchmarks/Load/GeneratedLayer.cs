using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Registry.Benchmarks.Load;

/// <summary>
/// A layer of <paramref name="Length"/> pseudo-random bytes made from <paramref name="Seed"/>: never in memory whole.
/// Its digest is computed by a first pass over the same sequence, before the upload that needs it.
/// </summary>
internal sealed record GeneratedLayer(ulong Seed, long Length)
{
    /// <summary>Docker's client writes request bodies in 32 KiB pieces (Go's io.Copy); so does this one.</summary>
    public const int WriteSize = 32 * 1024;

    private string? _digest;

    public string Digest => _digest ??= ComputeDigest();

    /// <summary>The bytes as a request body: with a Content-Length (containerd's PUT) or chunked without one (docker's PATCH).</summary>
    public HttpContent Content(bool declareLength) => new Body(this, declareLength);

    private string ComputeDigest()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var generator = new ByteGenerator(Seed);
        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            for (var left = Length; left > 0;)
            {
                var n = (int)Math.Min(buffer.Length, left);
                generator.Fill(buffer.AsSpan(0, n));
                hash.AppendData(buffer, 0, n);
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private sealed class Body : HttpContent
    {
        private readonly GeneratedLayer _layer;
        private readonly bool _declareLength;

        public Body(GeneratedLayer layer, bool declareLength)
        {
            _layer = layer;
            _declareLength = declareLength;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var generator = new ByteGenerator(_layer.Seed);
            var buffer = ArrayPool<byte>.Shared.Rent(WriteSize);
            try
            {
                for (var left = _layer.Length; left > 0;)
                {
                    var n = (int)Math.Min(WriteSize, left);
                    generator.Fill(buffer.AsSpan(0, n));
                    await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    left -= n;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _declareLength ? _layer.Length : 0;
            return _declareLength;
        }
    }
}
