using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Registry;
using Registry.Host.Scheduling;
using Registry.Host.Telemetry;
using Registry.Host.Transport;
using Registry.Host.Triggers;
using Registry.Http;
using Registry.Jobs;
using Registry.Startup;

namespace Registry.Host;

/// <summary>
/// Builds the registry's web application. Under the Functions host (FUNCTIONS_CUSTOMHANDLER_PORT set) it listens
/// on 127.0.0.1 at that port, answers the host's readiness poll on <c>GET /</c> and takes the timer and queue
/// invocations the host posts (<see cref="TriggerEndpoints"/>); standalone it listens on
/// <c>Registry:ListenAddress</c>:<c>Registry:Port</c> (127.0.0.1:5000 by default; port 0 picks a free one) and runs
/// the same jobs on the same schedules itself (<see cref="InProcessScheduler"/>, off with <c>Jobs:InProcess=false</c>).
/// </summary>
public static class RegistryHost
{
    public const string CustomHandlerPortVariable = "FUNCTIONS_CUSTOMHANDLER_PORT";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings never change under a running registry (app settings restart the process), so the configuration
        // files get no watcher: setting it up cost about a tenth of a cold start. A later argument still wins.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        var handlerPort = builder.Configuration[CustomHandlerPortVariable];
        var underFunctionsHost = !string.IsNullOrEmpty(handlerPort);
        var (address, port) = underFunctionsHost
            ? ("127.0.0.1", int.Parse(handlerPort!, System.Globalization.CultureInfo.InvariantCulture))
            : (builder.Configuration["Registry:ListenAddress"] ?? "127.0.0.1", builder.Configuration.GetValue("Registry:Port", 5000));
        builder.WebHost.UseUrls($"http://{address}:{port}");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Bodies stream through the upload routes, which lift this limit for themselves only.
            kestrel.Limits.MaxRequestBodySize = 30 * 1024 * 1024;
            kestrel.AddServerHeader = false;
        });
        // Request lines can carry credentials (podman sends token-request parameters, password included, in the
        // query string), and ASP.NET's request logging writes them whole: it never logs below Warning here.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        // Kestrel receives into one pool block per read: 64 KiB blocks instead of its 4 KiB ones cut a layer push's
        // CPU by about a quarter (README, "Performance").
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPool.Factory>();
        builder.Services.AddRegistry(builder.Configuration);
        builder.AddRegistryTelemetry();
        var inProcessJobs = !underFunctionsHost && builder.Configuration.GetValue("Jobs:InProcess", true);
        if (inProcessJobs)
        {
            builder.Services.AddHostedService<InProcessScheduler>();
        }
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGet("/", () => "registry").ServedBeforePrepared();
        app.UseRegistry();
        if (underFunctionsHost)
        {
            app.MapFunctionTriggers(app.Services.GetServices<IScheduledJob>());
        }
        else if (inProcessJobs)
        {
            // A bad schedule setting stops the start here, naming the setting, instead of failing in the background.
            InProcessScheduler.Schedules(app.Services.GetServices<IScheduledJob>(), app.Configuration);
        }
        return app;
    }
}
