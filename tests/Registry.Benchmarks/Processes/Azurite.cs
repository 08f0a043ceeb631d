using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// Azurite, as package-lock.json pins it, on free loopback ports, with its data in a temporary folder on the same disk
/// as Distribution's. Missing Azurite fails the run with the command that installs it.
/// </summary>
internal sealed partial class Azurite : IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly ManagedProcess _process;
    private readonly string _location;

    private Azurite(ManagedProcess process, string location, int blobPort, int tablePort)
    {
        _process = process;
        _location = location;
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};";
    }

    public string ConnectionString { get; }

    public int ProcessId => _process.Id;

    public static async Task<Azurite> StartAsync(CancellationToken cancellationToken)
    {
        var executable = Path.Combine(RepoPaths.Root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {executable}: run `npm ci` in {RepoPaths.Root}.");
        }
        var location = Directory.CreateTempSubdirectory("bench-azurite-").FullName;
        var blob = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var table = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = ManagedProcess.Start(executable,
        [
            "--silent", "--skipApiVersionCheck", "--loose", "--location", location,
            "--blobHost", "127.0.0.1", "--blobPort", "0", "--tableHost", "127.0.0.1", "--tablePort", "0", "--queuePort", "0",
        ]);
        process.LineReceived += line =>
        {
            if (Listening().Match(line) is { Success: true } match)
            {
                var port = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
                (match.Groups[1].Value == "Blob" ? blob : table).TrySetResult(port);
            }
        };
        try
        {
            var ready = Task.WhenAll(blob.Task, table.Task);
            var finished = await Task.WhenAny(ready, Task.Delay(TimeSpan.FromSeconds(60), cancellationToken));
            if (finished != ready)
            {
                throw new TimeoutException("Azurite did not report its ports within 60 s:\n" + process.RecentOutput());
            }
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return new Azurite(process, location, blob.Task.Result, table.Task.Result);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by the dying process: the OS cleans the temp folder later.
        }
    }

    [GeneratedRegex(@"Azurite (Blob|Table) service is successfully listening at http://[^:]+:(\d+)")]
    private static partial Regex Listening();
}
