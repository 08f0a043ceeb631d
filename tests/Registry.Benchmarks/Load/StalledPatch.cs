using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Registry.Benchmarks.Load;

/// <summary>
/// An upload PATCH over a socket of its own that sends its head and the first bytes of its body, then nothing more:
/// a client that stalled, either docker-style (chunked, inside a chunk that declared more) or with a Content-Length
/// it never reaches. The socket stays open until the registry answers, so the registry decides when it ends.
/// </summary>
internal static class StalledPatch
{
    /// <summary>
    /// Sends the PATCH to <paramref name="location"/> (<paramref name="declared"/> bytes announced,
    /// <paramref name="body"/> sent) and waits for the status line; returns its status, or 0 when the connection closed
    /// without one.
    /// </summary>
    public static async Task<int> SendAsync(Uri server, Uri location, string bearer, bool chunked, ReadOnlyMemory<byte> body, long declared, CancellationToken cancellationToken)
    {
        using var connection = new TcpClient { NoDelay = true };
        await connection.ConnectAsync(server.Host, server.Port, cancellationToken);
        var stream = connection.GetStream();
        var path = location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;
        var framing = chunked
            ? $"Transfer-Encoding: chunked\r\n\r\n{declared.ToString("x", CultureInfo.InvariantCulture)}\r\n"
            : $"Content-Length: {declared.ToString(CultureInfo.InvariantCulture)}\r\n\r\n";
        var head = $"PATCH {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/octet-stream\r\n{framing}";
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);
            await stream.WriteAsync(body, cancellationToken);
        }
        catch (IOException)
        {
            // The registry answered (429) and closed before taking the whole body: its answer may still be readable.
        }
        return await StatusAsync(stream, cancellationToken);
    }

    private static async Task<int> StatusAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cancellationToken);
                if (read == 0)
                {
                    return 0;
                }
                received.AddRange(buffer.AsSpan(0, read));
                var text = Encoding.ASCII.GetString([.. received]);
                if (text.IndexOf("\r\n", StringComparison.Ordinal) >= 12)
                {
                    return int.Parse(text.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
