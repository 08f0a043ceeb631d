using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Registry.Diagnostics;

namespace Registry.Host.Telemetry;

/// <summary>
/// OpenTelemetry traces, metrics and logs, exported only where configured: over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard OTEL_* variables apply), to Application Insights when
/// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (as the IaC does in Azure). With neither, nothing is collected.
/// Traces cover each request (ASP.NET Core) and each storage call (the Azure SDK's activity sources); metrics are the
/// registry's own meter and ASP.NET Core's.
/// </summary>
public static class OpenTelemetrySetup
{
    public const string ServiceName = "registry";

    public static WebApplicationBuilder AddRegistryTelemetry(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"] is { Length: > 0 } connection ? connection : null;
        if (!otlp && appInsights is null)
        {
            return builder;
        }
        // The Azure SDK emits an activity per storage call only when asked to.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddSource("Azure.*");
                if (appInsights is not null)
                {
                    tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = appInsights);
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RegistryMetrics.MeterName, "Microsoft.AspNetCore.Hosting");
                if (appInsights is not null)
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = appInsights);
                }
            })
            .WithLogging(logging =>
            {
                if (appInsights is not null)
                {
                    logging.AddAzureMonitorLogExporter(o => o.ConnectionString = appInsights);
                }
            });
        if (otlp)
        {
            telemetry.UseOtlpExporter();
        }
        return builder;
    }
}
