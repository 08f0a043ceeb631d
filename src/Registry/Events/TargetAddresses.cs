using System.Net;
using System.Net.Sockets;

namespace Registry.Events;

/// <summary>
/// Which addresses a webhook may reach: public ones only, unless private targets are allowed for local development.
/// Checked when the configuration is read (a literal address, a name such as <c>localhost</c>) and again on every
/// connection, on the address the name resolved to, so a name that resolves to an internal address is refused too.
/// </summary>
public static class TargetAddresses
{
    /// <summary>Loopback, link-local (the cloud metadata service), private, unique-local, unspecified or multicast.</summary>
    public static bool IsInternal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xfe) == 0xfc;
        }
        var v4 = address.GetAddressBytes();
        return v4[0] == 10
            || (v4[0] == 172 && v4[1] >= 16 && v4[1] <= 31)
            || (v4[0] == 192 && v4[1] == 168)
            || (v4[0] == 169 && v4[1] == 254)
            || (v4[0] == 100 && v4[1] >= 64 && v4[1] <= 127)
            || v4[0] == 0 || v4[0] >= 224;
    }

    /// <summary>Null when <paramref name="url"/> may be a target; otherwise why not, saying how to fix it.</summary>
    public static string? Problem(Uri? url, bool allowInternal)
    {
        if (url is null || !url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return "a webhook URL is an absolute http:// or https:// URL";
        }
        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            return "a webhook URL must not carry credentials; put them in Headers";
        }
        if (allowInternal)
        {
            return null;
        }
        if (url.Scheme != Uri.UriSchemeHttps)
        {
            return $"{url.Host}: webhook targets use https (http only with Events:AllowPrivateTargets, for local development)";
        }
        var internalName = url.IsLoopback || url.Host.EndsWith(".internal", StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith(".local", StringComparison.OrdinalIgnoreCase);
        if (internalName || (IPAddress.TryParse(url.Host, out var literal) && IsInternal(literal)))
        {
            return $"{url.Host} is an internal address; webhook targets must be public (Events:AllowPrivateTargets allows it for local development)";
        }
        return null;
    }
}
