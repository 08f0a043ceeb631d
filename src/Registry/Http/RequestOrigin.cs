using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Storage.Events;

namespace Registry.Http;

/// <summary>The origin of a change a request makes, as its event reports it: who, which request, which method and client.</summary>
public static class RequestOrigin
{
    /// <summary>
    /// The caller the request was authorized as (or <c>anonymous</c>), the request's correlation id, the registry's
    /// configured public host (never the request's <c>Host</c> header), the method and the user agent.
    /// </summary>
    public static ChangeOrigin Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var actor = context.Items.TryGetValue(AuditMiddleware.ActorKey, out var name) && name is string s ? s : "anonymous";
        var host = context.RequestServices.GetRequiredService<PublicEndpoint>().BaseUrl.Authority;
        var agent = context.Request.Headers.UserAgent.ToString();
        return new ChangeOrigin(actor, context.TraceIdentifier, host, context.Request.Method,
            RequestParameters.HasControlCharacter(agent) ? null : agent);
    }
}
