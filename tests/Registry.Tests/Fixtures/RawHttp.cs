using System.Net.Sockets;
using System.Text;

namespace Registry.Tests.Fixtures;

/// <summary>
/// Sends bytes exactly as given over a TCP connection, for requests HttpClient would normalise or refuse to send
/// (dot segments, lying Content-Length, half-closed bodies, slow bodies).
/// </summary>
public static class RawHttp
{
    /// <summary>The status code of the first response, or null if the server closed the connection without one.</summary>
    public static async Task<(int? Status, string Text)> SendAsync(Uri server, string head, byte[]? body = null, bool halfClose = false, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        if (body is not null)
        {
            await stream.WriteAsync(body);
        }
        if (halfClose)
        {
            client.Client.Shutdown(SocketShutdown.Send);
        }
        return await ReadStatusAsync(stream, timeout ?? TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Sends <paramref name="request"/> byte for byte (bytes a string head cannot carry: NUL, non-ASCII) and reads the
    /// answer until the server closes, so the request should say <c>Connection: close</c>. The body is de-chunked.
    /// </summary>
    public static async Task<(int? Status, string Head, string Body)> ExchangeAsync(Uri server, byte[] request, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, cts.Token);
        }
        catch (IOException)
        {
            // Connection reset: whatever arrived before it is the answer.
        }
        // Latin-1 keeps one character per byte, so chunk sizes count right; the body is read as UTF-8 at the end.
        var all = Encoding.Latin1.GetString(received.ToArray());
        var headEnd = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = headEnd < 0 ? all : all[..headEnd];
        var body = headEnd < 0 ? "" : all[(headEnd + 4)..];
        if (head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            var joined = new StringBuilder();
            while (body.IndexOf("\r\n", StringComparison.Ordinal) is var lineEnd and > 0
                   && int.TryParse(body.AsSpan(0, lineEnd), System.Globalization.NumberStyles.HexNumber, null, out var size) && size > 0)
            {
                joined.Append(body, lineEnd + 2, size);
                body = body[(lineEnd + 2 + size + 2)..];
            }
            body = joined.ToString();
        }
        int? status = head.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), out var code) ? code : null;
        return (status, head, Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(body)));
    }

    public static async Task<(int? Status, string Text)> ReadStatusAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                var read = await stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    break;
                }
                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
                var s = text.ToString();
                var headerEnd = s.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headerEnd >= 0 && (BodyComplete(s, headerEnd) || !s.Contains("Content-Length", StringComparison.OrdinalIgnoreCase)))
                {
                    break;
                }
            }
        }
        catch (IOException)
        {
            // Connection reset: whatever arrived before it is the answer.
        }
        var all = text.ToString();
        if (all.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && all.Length >= 12 && int.TryParse(all.AsSpan(9, 3), out var status))
        {
            return (status, all);
        }
        return (null, all);
    }

    private static bool BodyComplete(string s, int headerEnd)
    {
        foreach (var line in s[..headerEnd].Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(line.AsSpan(15).Trim(), out var length))
            {
                return s.Length - headerEnd - 4 >= length;
            }
        }
        return false;
    }
}
