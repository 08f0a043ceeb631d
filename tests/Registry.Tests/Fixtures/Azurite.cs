using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Registry.Tests.Fixtures;

/// <summary>
/// An Azurite process of the version package-lock.json pins (its blob, table and queue services), on free ports, with
/// its data in a temporary folder.
/// If Azurite is not installed the tests fail with the command that installs it: they never skip.
/// </summary>
public sealed partial class Azurite : IAsyncDisposable
{
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly string _location;

    private Azurite(Process process, string location, int blobPort, int tablePort, int queuePort)
    {
        _process = process;
        _location = location;
        BlobPort = blobPort;
        TablePort = tablePort;
        QueuePort = queuePort;
    }

    public int BlobPort { get; }

    public int TablePort { get; }

    /// <summary>The queue service, where a deployed replica's <c>replication</c> queue is (nothing else uses it).</summary>
    public int QueuePort { get; }

    public const string DefaultAccount = "devstoreaccount1";

    public string ConnectionString => ConnectionStringOf(DefaultAccount);

    /// <summary>The connection string of <paramref name="account"/>: the default one, or one passed to <see cref="StartAsync"/>.</summary>
    public string ConnectionStringOf(string account) =>
        $"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{account};TableEndpoint=http://127.0.0.1:{TablePort}/{account};" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{account};";

    /// <param name="extraAccounts">
    /// Storage accounts besides the default one (all with <see cref="AccountKey"/>): one Azurite holds them all, which is
    /// what lets storage copy a blob from one account to another (Azurite copies only within one instance).
    /// </param>
    public static async Task<Azurite> StartAsync(params string[] extraAccounts)
    {
        var executable = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run `npm ci` in {RepoPaths.Root}.");
        }
        var location = Directory.CreateTempSubdirectory("azurite-").FullName;
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--silent", "--skipApiVersionCheck", "--loose", "--location", location,
                     "--blobHost", "127.0.0.1", "--blobPort", "0", "--tableHost", "127.0.0.1", "--tablePort", "0",
                     "--queueHost", "127.0.0.1", "--queuePort", "0" })
        {
            start.ArgumentList.Add(arg);
        }
        if (extraAccounts.Length > 0)
        {
            start.Environment["AZURITE_ACCOUNTS"] = string.Join(";", new[] { DefaultAccount }.Concat(extraAccounts).Select(a => $"{a}:{AccountKey}"));
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start Azurite");
        int? blob = null, table = null, queue = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (blob is null || table is null || queue is null)
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                ?? throw new InvalidOperationException("Azurite exited: " + await process.StandardError.ReadToEndAsync());
            var match = Listening().Match(line);
            if (match.Success)
            {
                var port = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (match.Groups[1].Value == "Blob")
                {
                    blob = port;
                }
                else if (match.Groups[1].Value == "Table")
                {
                    table = port;
                }
                else
                {
                    queue = port;
                }
            }
        }
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return new Azurite(process, location, blob.Value, table.Value, queue.Value);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by the dying process: the temp folder is cleaned by the OS later.
        }
    }

    [GeneratedRegex(@"Azurite (Blob|Table|Queue) service is successfully listening at http://[^:]+:(\d+)")]
    private static partial Regex Listening();
}
