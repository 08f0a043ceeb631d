using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Registry.Http;

/// <summary>
/// The one place a request's body-size limit is changed from Kestrel's default (30 MiB): upload routes stream bodies
/// of any size, a manifest PUT stops reading at its own limit, a trigger envelope has a smaller one.
/// </summary>
public static class RequestBodyLimit
{
    /// <summary>Sets the limit (null: none) unless the body is already being read, when Kestrel no longer lets it change.</summary>
    public static void Set(HttpContext context, long? maxBytes)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }
    }
}
