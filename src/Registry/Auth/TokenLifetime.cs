using Microsoft.IdentityModel.Tokens;

namespace Registry.Auth;

/// <summary>
/// The one lifetime check of every token the registry verifies (its own and Entra ID's): not expired and not before
/// its <c>nbf</c>, each with the parameters' clock skew, read from an injected clock so tests can move time.
/// </summary>
public static class TokenLifetime
{
    public static LifetimeValidator Validator(TimeProvider time) => (notBefore, expires, _, parameters) =>
    {
        var now = time.GetUtcNow().UtcDateTime;
        return expires is { } e && e + parameters.ClockSkew >= now
            && (notBefore is not { } nb || nb - parameters.ClockSkew <= now);
    };
}
