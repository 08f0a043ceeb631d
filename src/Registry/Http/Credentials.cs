using System.Text;
using System.Text.Unicode;
using Microsoft.Extensions.Primitives;
using Registry.Http;

namespace Registry.Http;

/// <summary>What an Authorization header carries.</summary>
public enum CredentialKind
{
    None,
    Basic,
    Bearer,
    /// <summary>A header that cannot be read; <see cref="Credentials.Problem"/> says why. No password is checked for it.</summary>
    Malformed,
}

/// <summary>
/// The Authorization header, read strictly: exactly one header of at most <see cref="MaxHeaderLength"/> characters;
/// <c>Basic</c> with the base64 of UTF-8 <c>user:password</c> (a non-empty user, no control characters in either);
/// or <c>Bearer</c> with a token of RFC 6750's <c>b64token</c> characters. Anything else is
/// <see cref="CredentialKind.Malformed"/>.
/// </summary>
public sealed record Credentials(CredentialKind Kind, string User = "", string Secret = "", string? Problem = null)
{
    public const int MaxHeaderLength = 16 * 1024;

    public static readonly Credentials None = new(CredentialKind.None);

    public static Credentials Parse(StringValues authorization)
    {
        if (StringValues.IsNullOrEmpty(authorization))
        {
            return None;
        }
        if (authorization.Count > 1)
        {
            return Malformed("send one Authorization header, not several");
        }
        var header = authorization.ToString().Trim();
        if (header.Length > MaxHeaderLength)
        {
            return Malformed($"the Authorization header is longer than {MaxHeaderLength} characters");
        }
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = space < 0 ? header : header[..space];
        var parameter = space < 0 ? "" : header[(space + 1)..].Trim();
        if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return parameter.Length == 0 ? Malformed("Basic needs base64 of 'user:password' after it") : ParseBasic(parameter);
        }
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return parameter.Length > 0 && IsB64Token(parameter)
                ? new Credentials(CredentialKind.Bearer, Secret: parameter)
                : Malformed("Bearer needs a token (letters, digits and -._~+/, then any '=') after it");
        }
        return Malformed("the Authorization scheme must be Basic or Bearer");
    }

    private static Credentials ParseBasic(string parameter)
    {
        var bytes = new byte[(parameter.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(parameter, bytes, out var length))
        {
            return Malformed("the Basic credentials are not base64");
        }
        var decoded = bytes.AsSpan(0, length);
        if (!Utf8.IsValid(decoded))
        {
            return Malformed("the Basic credentials are not UTF-8 once base64-decoded");
        }
        var text = Encoding.UTF8.GetString(decoded);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return Malformed("the Basic credentials must be 'user:password' with a non-empty user");
        }
        if (RequestParameters.HasControlCharacter(text))
        {
            return Malformed("the Basic credentials contain a control character");
        }
        return new Credentials(CredentialKind.Basic, text[..colon], text[(colon + 1)..]);
    }

    private static Credentials Malformed(string problem) => new(CredentialKind.Malformed, Problem: problem);

    private static bool IsB64Token(string token)
    {
        var end = token.Length;
        while (end > 1 && token[end - 1] == '=')
        {
            end--;
        }
        foreach (var c in token.AsSpan(0, end))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.' or '_' or '~' or '+' or '/'))
            {
                return false;
            }
        }
        return true;
    }
}
