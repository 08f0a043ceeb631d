using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NCrontab;
using Registry.Jobs;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Hosting;

/// <summary>
/// `dotnet publish` of the host must be a complete Azure Functions custom-handler app, and the handler must start
/// the way the Functions host starts it: FUNCTIONS_CUSTOMHANDLER_PORT set, readiness polled on GET /.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class PublishLayoutTests(RegistryFixture registry)
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);

    private static async Task<string> PublishAsync()
    {
        var output = Directory.CreateTempSubdirectory("registry-publish-").FullName;
        // The composite ReadyToRun compilation of the whole framework takes minutes on a clean build of two cores.
        var result = await ProcessRunner.RunAsync("dotnet", ["publish", Path.Combine(RepoPaths.Root, "src", "Registry.Host"), "-c", "Release", "-o", output], TimeSpan.FromMinutes(15));
        Assert.True(result.ExitCode == 0, result.Output);
        return output;
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Publish_LaysOutHostJsonFunctionJsonAndTheHandler()
    {
        var dir = await Published.Value;
        using var host = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "host.json")));
        var handler = host.RootElement.GetProperty("customHandler");
        Assert.Equal("Registry.Host", handler.GetProperty("description").GetProperty("defaultExecutablePath").GetString());
        Assert.True(handler.GetProperty("enableProxyingHttpRequest").GetBoolean());
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());

        using var function = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "registry", "function.json")));
        var trigger = function.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal("anonymous", trigger.GetProperty("authLevel").GetString());
        Assert.Equal(
            ["delete", "get", "head", "patch", "post", "put"],
            trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).Order(StringComparer.Ordinal));
        Assert.Contains("v2/", trigger.GetProperty("route").GetString(), StringComparison.Ordinal);

        using var token = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "token", "function.json")));
        var tokenTrigger = token.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("type").GetString() == "httpTrigger");
        Assert.Equal("oauth2/{action}", tokenTrigger.GetProperty("route").GetString());

        var executable = Path.Combine(dir, "Registry.Host");
        Assert.True(File.Exists(executable), "the handler executable is missing");
        Assert.True((File.GetUnixFileMode(executable) & UnixFileMode.UserExecute) != 0, "the handler is not executable");
        Assert.True(File.Exists(Path.Combine(dir, "Registry.Host.dll")));
    }

    [Fact]
    public async Task Publish_HasOneFunctionPerTrigger_EachBoundAsTheHandlerExpects()
    {
        var dir = await Published.Value;
        var functions = Directory.GetDirectories(dir)
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal);
        Assert.Equal(["events", "garbage-collection", "health", "registry", "replicate", "replicate-credentials", "retention", "token", "upload-cleanup", "usage"], functions);
        Assert.Empty(Directory.GetFiles(dir, "function.json", SearchOption.TopDirectoryOnly));

        JsonElement Trigger(string function)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, function, "function.json")));
            return document.RootElement.GetProperty("bindings").EnumerateArray().Single(b => b.GetProperty("direction").GetString() == "in").Clone();
        }

        // Each timer is named after its job and reads the schedule from the job's own app setting.
        var jobs = registry.Services.GetServices<IScheduledJob>().ToList();
        Assert.Equal(["events", "garbage-collection", "replicate-credentials", "retention", "upload-cleanup", "usage"], jobs.Select(j => j.Name).Order(StringComparer.Ordinal));
        foreach (var job in jobs)
        {
            var timer = Trigger(job.Name);
            Assert.Equal("timerTrigger", timer.GetProperty("type").GetString());
            Assert.Equal($"%{job.ScheduleSetting}%", timer.GetProperty("schedule").GetString());
            Assert.NotNull(CrontabSchedule.TryParse(job.DefaultSchedule, new CrontabSchedule.ParseOptions { IncludingSeconds = true }));
        }

        var queue = Trigger(ReplicationJob.Name);
        Assert.Equal("queueTrigger", queue.GetProperty("type").GetString());
        Assert.Equal("message", queue.GetProperty("name").GetString());
        Assert.Equal("replication", queue.GetProperty("queueName").GetString());
        Assert.Equal("ReplicationQueue", queue.GetProperty("connection").GetString());

        var health = Trigger("health");
        Assert.Equal("health", health.GetProperty("route").GetString());
        Assert.Equal("anonymous", health.GetProperty("authLevel").GetString());
    }

    [Fact]
    public async Task Publish_IsSelfContainedAndCompositeReadyToRun()
    {
        var dir = await Published.Value;
        Assert.True(File.Exists(Path.Combine(dir, "libcoreclr.so")), "the .NET runtime is not in the package");
        Assert.True(File.Exists(Path.Combine(dir, "libhostfxr.so")));
        // One native image for the framework and the application together.
        Assert.True(File.Exists(Path.Combine(dir, "Registry.Host.r2r.dll")), "the composite ReadyToRun image is missing");
        using var registryAssembly = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(Path.Combine(dir, "Registry.dll")));
        // A ReadyToRun image carries a managed native header; plain IL does not.
        Assert.NotNull(registryAssembly.PEHeaders.CorHeader);
        Assert.NotEqual(0, registryAssembly.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size);
    }

    [Fact]
    public async Task PublishedHandler_WithCustomHandlerPort_AnswersTheReadinessPollAndServesV2()
    {
        var dir = await Published.Value;
        var port = FreePort();
        var start = new ProcessStartInfo(Path.Combine(dir, "Registry.Host"))
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Storage__ConnectionString"] = registry.Storage.ConnectionString,
                ["Registry__Port"] = "1", // ignored: the Functions host's port wins
                ["Auth__AdminPassword"] = RegistryFixture.AdminPassword, // the same owner as the shared fixture's
            },
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            HttpResponseMessage? root = null;
            for (var attempt = 0; attempt < 120 && root is null; attempt++)
            {
                try
                {
                    root = await http.GetAsync("/");
                }
                catch (HttpRequestException)
                {
                    if (process.HasExited)
                    {
                        Assert.Fail("handler exited: " + await stderr);
                    }
                    await Task.Delay(250);
                }
            }
            Assert.NotNull(root);
            Assert.Equal(HttpStatusCode.OK, root.StatusCode);
            // Authentication is on by default: /v2/ answers with the Bearer challenge docker login follows.
            var v2 = await http.GetAsync("/v2/");
            Assert.Equal(HttpStatusCode.Unauthorized, v2.StatusCode);
            Assert.Equal("registry/2.0", v2.Headers.GetValues("Docker-Distribution-API-Version").Single());
            Assert.Equal($"Bearer realm=\"http://127.0.0.1:{port}/oauth2/token\",service=\"registry\"", v2.Headers.WwwAuthenticate.ToString());
            using var login = new HttpRequestMessage(HttpMethod.Get, "/v2/");
            login.Headers.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}")));
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(login)).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
